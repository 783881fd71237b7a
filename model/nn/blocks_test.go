package nn

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

func randFloats(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

func varFloats(t *testing.T, store *gmodel.Store, path string) []float32 {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	return tensors.MustCopyFlatData[float32](v.MustValue())
}

// SelfAttentionQKV against a plain float64 implementation of the same
// formula (softmax over allowed keys of QKᵀ/√dh, fused bias-free QKV,
// biased output projection) with the weights the graph initialised, with a
// key mask and a causal-style attention mask. Tolerance 1e-5 (float32).
func TestSelfAttentionQKVMatchesNaive(t *testing.T) {
	const N, S, D, H = 2, 5, 8, 4
	dh := D / H
	rng := rand.New(rand.NewPCG(1, 2))
	x := randFloats(rng, N*S*D)
	keyMask := []bool{true, true, true, false, false, true, true, true, true, true}
	attn := make([]bool, S*S)
	for i := range S {
		for j := range S {
			attn[i*S+j] = !(i < 2 && j >= 2) // rows 0,1 see only keys 0,1 (STACK's prompt mask)
		}
	}
	store := NewStore(3)
	exec := gmodel.MustNewExec(goBackend(t), store, func(scope *gmodel.Scope, x, km, am *Node) *Node {
		return SelfAttentionQKV(scope.In("attn"), x, km, am, H)
	})
	out := tensors.MustCopyFlatData[float32](exec.MustCall1(tensors.FromFlatDataAndDimensions(x, N, S, D),
		tensors.FromFlatDataAndDimensions(keyMask, N, S), tensors.FromFlatDataAndDimensions(attn, S, S)))
	wqkv := varFloats(t, store, "/attn/qkv/dense/weights") // [D, 3D]
	wo := varFloats(t, store, "/attn/out/dense/weights")   // [D, D]
	bo := varFloats(t, store, "/attn/out/dense/biases")
	for n := range N {
		qkv := make([][]float64, S) // [S][3D]
		for s := range S {
			qkv[s] = make([]float64, 3*D)
			for o := range 3 * D {
				for i := range D {
					qkv[s][o] += float64(x[(n*S+s)*D+i]) * float64(wqkv[i*3*D+o])
				}
			}
		}
		for s := range S {
			ctx := make([]float64, D)
			for h := range H {
				var w []float64
				var mx = math.Inf(-1)
				for u := range S {
					if !keyMask[n*S+u] || !attn[s*S+u] {
						w = append(w, math.Inf(-1))
						continue
					}
					sc := 0.0
					for d := range dh {
						sc += qkv[s][h*dh+d] * qkv[u][D+h*dh+d]
					}
					sc /= math.Sqrt(float64(dh))
					w = append(w, sc)
					mx = max(mx, sc)
				}
				z := 0.0
				for u := range w {
					w[u] = math.Exp(w[u] - mx)
					z += w[u]
				}
				for u := range w {
					for d := range dh {
						ctx[h*dh+d] += w[u] / z * qkv[u][2*D+h*dh+d]
					}
				}
			}
			for o := range D {
				want := float64(bo[o])
				for i := range D {
					want += ctx[i] * float64(wo[i*D+o])
				}
				got := float64(out[(n*S+s)*D+o])
				if math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("set %d item %d out %d: got %g want %g", n, s, o, got, want)
				}
			}
		}
	}
}

// swRef is the float64 reference of SlicedWasserstein2 for one set.
func swRef(x, y [][]float64, proj [][]float64) float64 {
	P := len(proj[0])
	s := 0.0
	for p := range P {
		px := make([]float64, len(x))
		py := make([]float64, len(y))
		for i := range x {
			for d := range x[i] {
				px[i] += x[i][d] * proj[d][p]
				py[i] += y[i][d] * proj[d][p]
			}
		}
		sort.Float64s(px)
		sort.Float64s(py)
		for i := range px {
			s += (px[i] - py[i]) * (px[i] - py[i])
		}
	}
	return s / float64(len(x)*P)
}

// SlicedWasserstein2 equals the sort-based float64 reference (1e-5
// relative), is 0 for a cloud against a permutation of itself, and its
// gradient with respect to x equals the finite-difference gradient of the
// reference (central differences, h = 1e-3, tolerance 2e-3 relative).
func TestSlicedWasserstein2(t *testing.T) {
	const B, K, D, P = 2, 7, 3, 5
	rng := rand.New(rand.NewPCG(4, 5))
	x := randFloats(rng, B*K*D)
	y := randFloats(rng, B*K*D)
	proj := randFloats(rng, D*P)
	exec := MustNewExec(goBackend(t), func(x, y, proj *Node) []*Node {
		sw := SlicedWasserstein2(x, y, proj)
		return []*Node{sw, Gradient(ReduceAllSum(sw), x)[0]}
	})
	res := exec.MustExec(tensors.FromFlatDataAndDimensions(x, B, K, D), tensors.FromFlatDataAndDimensions(y, B, K, D),
		tensors.FromFlatDataAndDimensions(proj, D, P))
	got := tensors.MustCopyFlatData[float32](res[0])
	grad := tensors.MustCopyFlatData[float32](res[1])
	cloud := func(v []float32, b int) [][]float64 {
		out := make([][]float64, K)
		for i := range K {
			out[i] = make([]float64, D)
			for d := range D {
				out[i][d] = float64(v[(b*K+i)*D+d])
			}
		}
		return out
	}
	pm := make([][]float64, D)
	for d := range D {
		pm[d] = make([]float64, P)
		for p := range P {
			pm[d][p] = float64(proj[d*P+p])
		}
	}
	for b := range B {
		want := swRef(cloud(x, b), cloud(y, b), pm)
		if math.Abs(float64(got[b])-want) > 1e-5*(1+want) {
			t.Fatalf("set %d: SW %g, reference %g", b, got[b], want)
		}
		xc := cloud(x, b)
		for i := range K {
			for d := range D {
				const h = 1e-3
				xc[i][d] += h
				up := swRef(xc, cloud(y, b), pm)
				xc[i][d] -= 2 * h
				down := swRef(xc, cloud(y, b), pm)
				xc[i][d] += h
				fd := (up - down) / (2 * h)
				g := float64(grad[(b*K+i)*D+d])
				if math.Abs(g-fd) > 2e-3*(1+math.Abs(fd)) {
					t.Fatalf("set %d cell %d dim %d: gradient %g, finite difference %g", b, i, d, g, fd)
				}
			}
		}
	}
	// A cloud against a permutation of itself: exactly 0.
	perm := slices.Clone(x)
	for b := range B {
		for i := range K {
			copy(perm[(b*K+i)*D:(b*K+i+1)*D], x[(b*K+(K-1-i))*D:(b*K+(K-i))*D])
		}
	}
	res = exec.MustExec(tensors.FromFlatDataAndDimensions(x, B, K, D), tensors.FromFlatDataAndDimensions(perm, B, K, D),
		tensors.FromFlatDataAndDimensions(proj, D, P))
	for b, v := range tensors.MustCopyFlatData[float32](res[0]) {
		if v > 1e-12 {
			t.Fatalf("set %d: SW against its own permutation = %g, want 0", b, v)
		}
	}
}

// teacherToy is toyTask's model with a teacher copy under /teacher/:
// frozen (FreezeVariables), EMA-updated toward the student every `every`
// steps, its output logged as a loss term but not trained on.
func teacherToy(decay float64, every int) ModelFn {
	inner, _, _ := toyTask(0)
	return func(scope *gmodel.Scope, in []*Node) []*Node {
		out := inner(scope, in)
		teacher := inner(scope.In("teacher"), in)
		FreezeVariables(scope.Store(), "/teacher/")
		UpdateEMA(scope.Store(), in[0].Graph(), "/teacher/", "/", decay, every)
		LogTerm(scope, "teacher_mean", ReduceAllMean(StopGradient(teacher[0])))
		return out
	}
}

// An EMA teacher: starts as the pre-trained student (InitAliases), is never
// changed by the optimizer (frozen: every = 0 keeps it bit-identical to
// the checkpoint), and with every = 4 equals the EMA formula applied by
// hand to the student values of the steps where step mod 4 = 0. LogTerm
// values land in every StepRecord.
func TestEMATeacher(t *testing.T) {
	pre := toyOpts()
	pre.CheckpointDir = t.TempDir()
	pre.Steps = 5
	runToy(t, pre, context.Background(), -1, nil)
	_, lossFn, batcher := toyTask(toyOpts().Seed)
	// run trains `steps` steps, or stops after step stopAt (≥ 0; the
	// cancellation made in its batch call takes effect at the next step).
	run := func(every, steps int, stopAt int64) (*gmodel.Store, History) {
		o := toyOpts()
		o.Steps = steps
		o.InitFrom = pre.CheckpointDir
		o.InitAliases = []InitAlias{{From: "/teacher/", To: "/"}}
		store := NewStore(11)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b := func(step int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
			if step == stopAt {
				cancel()
			}
			return batcher(step)
		}
		h, err := Train(ctx, goBackend(t), store, teacherToy(0.9, every), lossFn, b, o)
		if err != nil && stopAt < 0 {
			t.Fatal(err)
		}
		return store, h
	}
	const path = "/enc/out/dense/weights"
	frozen, h := run(0, 3, -1)
	if len(h.Records) != 3 || h.Records[2].Terms["teacher_mean"] == 0 {
		t.Fatalf("loss terms not recorded: %+v", h.Records)
	}
	// Frozen teacher: bit-identical to the student's checkpoint value,
	// while the student moved.
	tw := varFloats(t, frozen, "/teacher"+path)
	sw := varFloats(t, frozen, path)
	ckpt := loadCheckpointVar(t, pre.CheckpointDir, path)
	if !slices.Equal(tw, ckpt) {
		t.Fatal("frozen teacher differs from the checkpoint it started from")
	}
	if slices.Equal(sw, ckpt) {
		t.Fatal("student did not move")
	}
	// EMA every 4 steps over 6 steps: updates at steps 0 and 4 with the
	// student values before those steps' updates (the same run stopped
	// after step 3 holds the student before step 4).
	ema, _ := run(4, 6, -1)
	s4, _ := run(4, 6, 3)
	want := make([]float32, len(ckpt))
	before4 := varFloats(t, s4, path)
	for i := range want {
		t0 := 0.9*float64(ckpt[i]) + 0.1*float64(ckpt[i]) // step 0: student = checkpoint
		want[i] = float32(0.9*float64(float32(t0)) + 0.1*float64(before4[i]))
	}
	got := varFloats(t, ema, "/teacher"+path)

	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("EMA teacher weight %d = %g, want %g", i, got[i], want[i])
		}
	}
}

func loadCheckpointVar(t *testing.T, dir, path string) []float32 {
	t.Helper()
	store := NewStore(99)
	if err := InitStage(store, dir); err != nil {
		t.Fatal(err)
	}
	exec := gmodel.MustNewExec(goBackend(t), store, func(scope *gmodel.Scope, x *Node) *Node {
		return layers.Dense(scope.In("enc").In("out"), x, true, 16)
	})
	_ = exec.MustCall1(tensors.FromFlatDataAndDimensions(make([]float32, 16), 1, 16))
	return varFloats(t, store, path)
}
