package scib

import (
	"math"

	"github.com/cellbench/cellbench/data"
)

// dimsMajor holds points column by column (v[c·n + p] is coordinate c of
// point p), so that the distance kernels can load 8 consecutive points of
// one coordinate as one vector. Points may be stored in any order (a
// permutation of the rows of the source matrix). v has dimsMajorPad zeros
// after the last column so that a vector kernel may load a full vector at
// the last points; lanes past the requested range are discarded.
const dimsMajorPad = 8

type dimsMajor struct {
	d, n int
	v    []float64
}

// newDimsMajor copies the rows order[0], order[1], … of x (all rows in
// order when order is nil) into dims-major layout.
func newDimsMajor[I int | int32](x *data.Dense, order []I) dimsMajor {
	d := x.Cols
	n := x.Rows
	if order != nil {
		n = len(order)
	}
	t := dimsMajor{d: d, n: n, v: make([]float64, d*n+dimsMajorPad)}
	for p := 0; p < n; p++ {
		r := p
		if order != nil {
			r = int(order[p])
		}
		for c, v := range x.Data[r*d : r*d+d] {
			t.v[c*n+p] = v
		}
	}
	return t
}

// sqDistsScalar sets dst[p−lo] = Σ_c (q_c − t_c,p)² for p in [lo, hi),
// summing over c in increasing order, one rounding per operation (no
// fused multiply-add), so every kernel gives bit-identical values.
func sqDistsScalar(q []float64, t dimsMajor, lo, hi int, dst []float64) {
	dst = dst[:hi-lo]
	for p := range dst {
		dst[p] = 0
	}
	for c, qc := range q {
		col := t.v[c*t.n+lo : c*t.n+hi]
		for p, v := range col {
			u := qc - v
			dst[p] += float64(u * u) // conversion forbids fusing into an FMA
		}
	}
}

// sumDistsScalar returns Σ_{p∈[lo,hi)} √(Σ_c (q_c − t_c,p)²), four points
// at a time (independent accumulators).
func sumDistsScalar(q []float64, t dimsMajor, lo, hi int) float64 {
	v, n := t.v, t.n
	var s float64
	p := lo
	for ; p+4 <= hi; p += 4 {
		var s0, s1, s2, s3 float64
		for c, qc := range q {
			w := v[c*n+p : c*n+p+4 : c*n+p+4]
			u0, u1, u2, u3 := qc-w[0], qc-w[1], qc-w[2], qc-w[3]
			s0 += float64(u0 * u0)
			s1 += float64(u1 * u1)
			s2 += float64(u2 * u2)
			s3 += float64(u3 * u3)
		}
		s += math.Sqrt(s0) + math.Sqrt(s1) + math.Sqrt(s2) + math.Sqrt(s3)
	}
	for ; p < hi; p++ {
		var q2 float64
		for c, qc := range q {
			u := qc - v[c*n+p]
			q2 += float64(u * u)
		}
		s += math.Sqrt(q2)
	}
	return s
}

// minUpdateScalar sets best[p], arg[p] = dist[p], c wherever dist[p] <
// best[p] (strictly: ties keep the earlier c).
func minUpdateScalar(dist, best []float64, arg []int64, c int64) {
	best = best[:len(dist)]
	arg = arg[:len(dist)]
	for p, v := range dist {
		if v < best[p] {
			best[p], arg[p] = v, c
		}
	}
}

// sumDistsAccScalar returns Σ_{p∈[lo,hi)} √(Σ_c (q_c − t_c,p)²) and adds
// each term to acc[p−lo]; four points at a time.
func sumDistsAccScalar(q []float64, t dimsMajor, lo, hi int, acc []float64) float64 {
	acc = acc[:hi-lo]
	v, n := t.v, t.n
	var s float64
	p := lo
	for ; p+4 <= hi; p += 4 {
		var s0, s1, s2, s3 float64
		for c, qc := range q {
			w := v[c*n+p : c*n+p+4 : c*n+p+4]
			u0, u1, u2, u3 := qc-w[0], qc-w[1], qc-w[2], qc-w[3]
			s0 += float64(u0 * u0)
			s1 += float64(u1 * u1)
			s2 += float64(u2 * u2)
			s3 += float64(u3 * u3)
		}
		r0, r1, r2, r3 := math.Sqrt(s0), math.Sqrt(s1), math.Sqrt(s2), math.Sqrt(s3)
		s += r0 + r1 + r2 + r3
		a := acc[p-lo : p-lo+4 : p-lo+4]
		a[0] += r0
		a[1] += r1
		a[2] += r2
		a[3] += r3
	}
	for ; p < hi; p++ {
		var q2 float64
		for c, qc := range q {
			u := qc - v[c*n+p]
			q2 += float64(u * u)
		}
		r := math.Sqrt(q2)
		s += r
		acc[p-lo] += r
	}
	return s
}

// boxSqDistScalar is the squared distance from q to the box [lo, hi]
// (per coordinate, the part of q outside the box), summed over coordinates
// in increasing order.
func boxSqDistScalar(q, lo, hi []float64) float64 {
	lo, hi = lo[:len(q)], hi[:len(q)]
	var s float64
	for c, v := range q {
		if v < lo[c] {
			u := lo[c] - v
			s += float64(u * u)
		} else if v > hi[c] {
			u := v - hi[c]
			s += float64(u * u)
		}
	}
	return s
}

// maskLEScalar returns a bit mask with bit p set when d[p] ≤ bound
// (len(d) ≤ 64).
func maskLEScalar(d []float64, bound float64) uint64 {
	var m uint64
	for p, v := range d {
		m |= uint64(b2i(v <= bound)) << p
	}
	return m
}
