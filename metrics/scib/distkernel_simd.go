//go:build goexperiment.simd && amd64

package scib

import "simd/archsimd"

// Vector kernels (built with GOEXPERIMENT=simd on amd64): 32 points per step
// with AVX-512 (four independent 8-lane accumulators, so the per-coordinate
// add chains of different vectors overlap), then 8 at a time, then the
// scalar kernel for the tail; AVX2 does 16 then 4 at a time. Each lane
// performs the same operations in the same order as the scalar kernel
// (subtract, multiply, add; no fused multiply-add), so squared distances
// are bit-identical across kernels.
var (
	simdAVX512 = archsimd.X86.AVX512()
	simdAVX2   = archsimd.X86.AVX2()
)

// simdKernel names the distance kernel in use (reported by tests).
func simdKernel() string {
	switch {
	case simdAVX512:
		return "avx512"
	case simdAVX2:
		return "avx2"
	}
	return "scalar"
}

// sqDists sets dst[p−lo] = Σ_c (q_c − t_c,p)² for p in [lo, hi).
func sqDists(q []float64, t dimsMajor, lo, hi int, dst []float64) {
	dst = dst[:hi-lo]
	v, n := t.v, t.n
	p := lo
	switch {
	case simdAVX512:
		for ; p+32 <= hi; p += 32 {
			s0 := archsimd.BroadcastFloat64x8(0)
			s1, s2, s3 := s0, s0, s0
			for c, qc := range q {
				w := v[c*n+p : c*n+p+32 : c*n+p+32]
				b := archsimd.BroadcastFloat64x8(qc)
				u0 := b.Sub(archsimd.LoadFloat64x8(w[0:8]))
				u1 := b.Sub(archsimd.LoadFloat64x8(w[8:16]))
				u2 := b.Sub(archsimd.LoadFloat64x8(w[16:24]))
				u3 := b.Sub(archsimd.LoadFloat64x8(w[24:32]))
				s0 = s0.Add(u0.Mul(u0))
				s1 = s1.Add(u1.Mul(u1))
				s2 = s2.Add(u2.Mul(u2))
				s3 = s3.Add(u3.Mul(u3))
			}
			o := dst[p-lo : p-lo+32 : p-lo+32]
			s0.Store(o[0:8])
			s1.Store(o[8:16])
			s2.Store(o[16:24])
			s3.Store(o[24:32])
		}
		for ; p+8 <= hi; p += 8 {
			s := archsimd.BroadcastFloat64x8(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x8(qc).Sub(archsimd.LoadFloat64x8(v[c*n+p : c*n+p+8]))
				s = s.Add(u.Mul(u))
			}
			s.Store(dst[p-lo : p-lo+8])
		}
		if p < hi {
			// Last 1–7 points: a full vector (the padding keeps the loads
			// in range), of which the first hi−p lanes are kept.
			s := archsimd.BroadcastFloat64x8(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x8(qc).Sub(archsimd.LoadFloat64x8(v[c*n+p : c*n+p+8]))
				s = s.Add(u.Mul(u))
			}
			var lanes [8]float64
			s.Store(lanes[:])
			copy(dst[p-lo:], lanes[:hi-p])
			return
		}
	case simdAVX2:
		for ; p+16 <= hi; p += 16 {
			s0 := archsimd.BroadcastFloat64x4(0)
			s1, s2, s3 := s0, s0, s0
			for c, qc := range q {
				w := v[c*n+p : c*n+p+16 : c*n+p+16]
				b := archsimd.BroadcastFloat64x4(qc)
				u0 := b.Sub(archsimd.LoadFloat64x4(w[0:4]))
				u1 := b.Sub(archsimd.LoadFloat64x4(w[4:8]))
				u2 := b.Sub(archsimd.LoadFloat64x4(w[8:12]))
				u3 := b.Sub(archsimd.LoadFloat64x4(w[12:16]))
				s0 = s0.Add(u0.Mul(u0))
				s1 = s1.Add(u1.Mul(u1))
				s2 = s2.Add(u2.Mul(u2))
				s3 = s3.Add(u3.Mul(u3))
			}
			o := dst[p-lo : p-lo+16 : p-lo+16]
			s0.Store(o[0:4])
			s1.Store(o[4:8])
			s2.Store(o[8:12])
			s3.Store(o[12:16])
		}
		for ; p+4 <= hi; p += 4 {
			s := archsimd.BroadcastFloat64x4(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x4(qc).Sub(archsimd.LoadFloat64x4(v[c*n+p : c*n+p+4]))
				s = s.Add(u.Mul(u))
			}
			s.Store(dst[p-lo : p-lo+4])
		}
	}
	sqDistsScalar(q, t, p, hi, dst[p-lo:])
}

// sumDists returns Σ_{p∈[lo,hi)} √(Σ_c (q_c − t_c,p)²).
func sumDists(q []float64, t dimsMajor, lo, hi int) float64 {
	v, n := t.v, t.n
	p := lo
	var lanes [8]float64
	switch {
	case simdAVX512:
		acc0 := archsimd.BroadcastFloat64x8(0)
		acc1, acc2, acc3 := acc0, acc0, acc0
		for ; p+32 <= hi; p += 32 {
			s0 := archsimd.BroadcastFloat64x8(0)
			s1, s2, s3 := s0, s0, s0
			for c, qc := range q {
				w := v[c*n+p : c*n+p+32 : c*n+p+32]
				b := archsimd.BroadcastFloat64x8(qc)
				u0 := b.Sub(archsimd.LoadFloat64x8(w[0:8]))
				u1 := b.Sub(archsimd.LoadFloat64x8(w[8:16]))
				u2 := b.Sub(archsimd.LoadFloat64x8(w[16:24]))
				u3 := b.Sub(archsimd.LoadFloat64x8(w[24:32]))
				s0 = s0.Add(u0.Mul(u0))
				s1 = s1.Add(u1.Mul(u1))
				s2 = s2.Add(u2.Mul(u2))
				s3 = s3.Add(u3.Mul(u3))
			}
			acc0 = acc0.Add(s0.Sqrt())
			acc1 = acc1.Add(s1.Sqrt())
			acc2 = acc2.Add(s2.Sqrt())
			acc3 = acc3.Add(s3.Sqrt())
		}
		for ; p+8 <= hi; p += 8 {
			s := archsimd.BroadcastFloat64x8(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x8(qc).Sub(archsimd.LoadFloat64x8(v[c*n+p : c*n+p+8]))
				s = s.Add(u.Mul(u))
			}
			acc0 = acc0.Add(s.Sqrt())
		}
		acc0.Add(acc1).Add(acc2.Add(acc3)).Store(lanes[:])
		if p < hi {
			s := archsimd.BroadcastFloat64x8(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x8(qc).Sub(archsimd.LoadFloat64x8(v[c*n+p : c*n+p+8]))
				s = s.Add(u.Mul(u))
			}
			var tail [8]float64
			s.Sqrt().Store(tail[:])
			for r, x := range tail[:hi-p] {
				lanes[r] += x
			}
			p = hi
		}
	case simdAVX2:
		acc0 := archsimd.BroadcastFloat64x4(0)
		acc1, acc2, acc3 := acc0, acc0, acc0
		for ; p+16 <= hi; p += 16 {
			s0 := archsimd.BroadcastFloat64x4(0)
			s1, s2, s3 := s0, s0, s0
			for c, qc := range q {
				w := v[c*n+p : c*n+p+16 : c*n+p+16]
				b := archsimd.BroadcastFloat64x4(qc)
				u0 := b.Sub(archsimd.LoadFloat64x4(w[0:4]))
				u1 := b.Sub(archsimd.LoadFloat64x4(w[4:8]))
				u2 := b.Sub(archsimd.LoadFloat64x4(w[8:12]))
				u3 := b.Sub(archsimd.LoadFloat64x4(w[12:16]))
				s0 = s0.Add(u0.Mul(u0))
				s1 = s1.Add(u1.Mul(u1))
				s2 = s2.Add(u2.Mul(u2))
				s3 = s3.Add(u3.Mul(u3))
			}
			acc0 = acc0.Add(s0.Sqrt())
			acc1 = acc1.Add(s1.Sqrt())
			acc2 = acc2.Add(s2.Sqrt())
			acc3 = acc3.Add(s3.Sqrt())
		}
		for ; p+4 <= hi; p += 4 {
			s := archsimd.BroadcastFloat64x4(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x4(qc).Sub(archsimd.LoadFloat64x4(v[c*n+p : c*n+p+4]))
				s = s.Add(u.Mul(u))
			}
			acc0 = acc0.Add(s.Sqrt())
		}
		acc0.Add(acc1).Add(acc2.Add(acc3)).Store(lanes[:4])
	}
	sum := ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
	return sum + sumDistsScalar(q, t, p, hi)
}

// minUpdate sets best[p], arg[p] = dist[p], c wherever dist[p] < best[p]
// (strictly: ties keep the earlier c), 8 lanes at a time with AVX-512.
func minUpdate(dist, best []float64, arg []int64, c int64) {
	n := len(dist)
	best, arg = best[:n], arg[:n]
	p := 0
	if simdAVX512 {
		cv := archsimd.BroadcastInt64x8(c)
		for ; p+8 <= n; p += 8 {
			d := archsimd.LoadFloat64x8(dist[p : p+8])
			b := archsimd.LoadFloat64x8(best[p : p+8])
			a := archsimd.LoadInt64x8(arg[p : p+8])
			lt := d.Less(b)
			d.IfElse(lt, b).Store(best[p : p+8])
			cv.IfElse(lt, a).Store(arg[p : p+8])
		}
	}
	minUpdateScalar(dist[p:], best[p:], arg[p:], c)
}

// sumDistsAcc returns Σ_{p∈[lo,hi)} √(Σ_c (q_c − t_c,p)²) and adds each
// term to acc[p−lo] (the symmetric silhouette's column sums).
func sumDistsAcc(q []float64, t dimsMajor, lo, hi int, acc []float64) float64 {
	acc = acc[:hi-lo]
	v, n := t.v, t.n
	p := lo
	var lanes [8]float64
	switch {
	case simdAVX512:
		acc0 := archsimd.BroadcastFloat64x8(0)
		acc1, acc2, acc3 := acc0, acc0, acc0
		for ; p+32 <= hi; p += 32 {
			s0 := archsimd.BroadcastFloat64x8(0)
			s1, s2, s3 := s0, s0, s0
			for c, qc := range q {
				w := v[c*n+p : c*n+p+32 : c*n+p+32]
				b := archsimd.BroadcastFloat64x8(qc)
				u0 := b.Sub(archsimd.LoadFloat64x8(w[0:8]))
				u1 := b.Sub(archsimd.LoadFloat64x8(w[8:16]))
				u2 := b.Sub(archsimd.LoadFloat64x8(w[16:24]))
				u3 := b.Sub(archsimd.LoadFloat64x8(w[24:32]))
				s0 = s0.Add(u0.Mul(u0))
				s1 = s1.Add(u1.Mul(u1))
				s2 = s2.Add(u2.Mul(u2))
				s3 = s3.Add(u3.Mul(u3))
			}
			o := acc[p-lo : p-lo+32 : p-lo+32]
			r0, r1, r2, r3 := s0.Sqrt(), s1.Sqrt(), s2.Sqrt(), s3.Sqrt()
			acc0, acc1, acc2, acc3 = acc0.Add(r0), acc1.Add(r1), acc2.Add(r2), acc3.Add(r3)
			archsimd.LoadFloat64x8(o[0:8]).Add(r0).Store(o[0:8])
			archsimd.LoadFloat64x8(o[8:16]).Add(r1).Store(o[8:16])
			archsimd.LoadFloat64x8(o[16:24]).Add(r2).Store(o[16:24])
			archsimd.LoadFloat64x8(o[24:32]).Add(r3).Store(o[24:32])
		}
		for ; p+8 <= hi; p += 8 {
			s := archsimd.BroadcastFloat64x8(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x8(qc).Sub(archsimd.LoadFloat64x8(v[c*n+p : c*n+p+8]))
				s = s.Add(u.Mul(u))
			}
			r := s.Sqrt()
			acc0 = acc0.Add(r)
			o := acc[p-lo : p-lo+8]
			archsimd.LoadFloat64x8(o).Add(r).Store(o)
		}
		acc0.Add(acc1).Add(acc2.Add(acc3)).Store(lanes[:])
		if p < hi {
			s := archsimd.BroadcastFloat64x8(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x8(qc).Sub(archsimd.LoadFloat64x8(v[c*n+p : c*n+p+8]))
				s = s.Add(u.Mul(u))
			}
			var tail [8]float64
			s.Sqrt().Store(tail[:])
			for r, x := range tail[:hi-p] {
				lanes[r] += x
				acc[p-lo+r] += x
			}
			p = hi
		}
	case simdAVX2:
		acc0 := archsimd.BroadcastFloat64x4(0)
		for ; p+4 <= hi; p += 4 {
			s := archsimd.BroadcastFloat64x4(0)
			for c, qc := range q {
				u := archsimd.BroadcastFloat64x4(qc).Sub(archsimd.LoadFloat64x4(v[c*n+p : c*n+p+4]))
				s = s.Add(u.Mul(u))
			}
			r := s.Sqrt()
			acc0 = acc0.Add(r)
			o := acc[p-lo : p-lo+4]
			archsimd.LoadFloat64x4(o).Add(r).Store(o)
		}
		acc0.Store(lanes[:4])
	}
	sum := ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
	return sum + sumDistsAccScalar(q, t, p, hi, acc[p-lo:])
}

// boxSqDist is boxSqDistScalar without branches: 8 coordinates per vector
// (u = max(lo − q, q − hi, 0), at most one side positive), the squares then
// summed in increasing coordinate order as the scalar loop does — bit-
// identical, so pruning stays exactly "strictly farther than the bound".
func boxSqDist(q, lo, hi []float64) float64 {
	if !simdAVX512 {
		return boxSqDistScalar(q, lo, hi)
	}
	d := len(q)
	lo, hi = lo[:d], hi[:d]
	zero := archsimd.BroadcastFloat64x8(0)
	var sq [8]float64
	var s float64
	for c := 0; c < d; c += 8 {
		qv, m := archsimd.LoadFloat64x8Part(q[c:])
		lv, _ := archsimd.LoadFloat64x8Part(lo[c:])
		hv, _ := archsimd.LoadFloat64x8Part(hi[c:])
		u := lv.Sub(qv).Max(qv.Sub(hv)).Max(zero)
		u.Mul(u).Store(sq[:])
		for _, v := range sq[:m] {
			s += v
		}
	}
	return s
}

// maskLE returns a bit mask with bit p set when d[p] ≤ bound (len(d) ≤ 64).
func maskLE(d []float64, bound float64) uint64 {
	if !simdAVX512 {
		return maskLEScalar(d, bound)
	}
	b := archsimd.BroadcastFloat64x8(bound)
	var m uint64
	p := 0
	for ; p+8 <= len(d); p += 8 {
		m |= uint64(archsimd.LoadFloat64x8(d[p:p+8]).LessEqual(b).ToBits()) << p
	}
	return m | maskLEScalar(d[p:], bound)<<p
}
