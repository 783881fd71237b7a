//go:build !(goexperiment.simd && amd64)

package scib

// Without GOEXPERIMENT=simd (or off amd64) the scalar kernels are used.

func simdKernel() string { return "scalar" }

func sqDists(q []float64, t dimsMajor, lo, hi int, dst []float64) {
	sqDistsScalar(q, t, lo, hi, dst)
}

func sumDists(q []float64, t dimsMajor, lo, hi int) float64 {
	return sumDistsScalar(q, t, lo, hi)
}

func minUpdate(dist, best []float64, arg []int64, c int64) {
	minUpdateScalar(dist, best, arg, c)
}

func sumDistsAcc(q []float64, t dimsMajor, lo, hi int, acc []float64) float64 {
	return sumDistsAccScalar(q, t, lo, hi, acc)
}

func boxSqDist(q, lo, hi []float64) float64 { return boxSqDistScalar(q, lo, hi) }

func maskLE(d []float64, bound float64) uint64 { return maskLEScalar(d, bound) }
