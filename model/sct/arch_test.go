package sct

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := nn.NewBackendFromConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

// TestConvMatchesConvolve: the im2col convolution and the parity-split
// transposed convolution equal GoMLX's Convolve with the semantics they
// document (SAME padding; input dilation 2 with JAX's conv_transpose
// padding: 3/2 for k = 5, 0/1 for k = 1) on random inputs, atol 1e-4.
func TestConvMatchesConvolve(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	backend := goBackend(t)
	for _, tc := range []struct {
		k, cin, cout, L int
		transpose       bool
	}{{5, 3, 4, 12, false}, {15, 2, 3, 20, false}, {1, 4, 2, 8, false}, {5, 3, 4, 6, true}, {1, 2, 3, 5, true}, {3, 2, 2, 7, true}} {
		store := gmodel.NewStore()
		w := randTensor(rng, tc.k, tc.cin, tc.cout)
		scope := store.RootScope().In("c")
		scope.VariableWithValue("weights", w)
		scope.VariableWithValue("bias", tensors.FromValue(make([]float32, tc.cout)))
		x := randTensor(rng, 2, tc.L, tc.cin)
		exec, err := gmodel.NewExec(backend, store, func(s *gmodel.Scope, x *Node) (*Node, *Node) {
			sc := s.In("c")
			wn := sc.VariableWithShape("weights", shapes.Make(dtypes.Float32, tc.k, tc.cin, tc.cout)).NodeValue(x.Graph())
			if !tc.transpose {
				return conv1d(sc, x, tc.cout, tc.k), Convolve(x, wn).PadSame().Done()
			}
			padA := int(math.Ceil(float64(tc.k) / 2))
			if 2 > tc.k-1 {
				padA = tc.k - 1
			}
			ref := Convolve(x, wn).InputDilationPerAxis(2).PaddingPerDim([][2]int{{padA, tc.k - padA}}).Done()
			return convTranspose1d(sc, x, tc.cout, tc.k), ref
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(x)
		if err != nil {
			t.Fatal(err)
		}
		got, want := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
		if len(got) != len(want) {
			t.Fatalf("%+v: %d values, reference %d", tc, len(got), len(want))
		}
		wantLen := tc.L
		if tc.transpose {
			wantLen = 2 * tc.L
		}
		if len(got) != 2*wantLen*tc.cout {
			t.Fatalf("%+v: %d values, want 2×%d×%d", tc, len(got), wantLen, tc.cout)
		}
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-4 {
				t.Fatalf("%+v: value %d = %g, reference %g", tc, i, got[i], want[i])
			}
		}
	}
}

// TestSharedNorm: with scale 1 and offset 0 the shared layer norm leaves
// every (sequence, cell, channel) with mean 0 and biased variance 1 over
// its genes (hand-derivable), and its parameters have one entry per gene
// position.
func TestSharedNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := arch{norm: "shared"}
	store := gmodel.NewStore()
	const B, K, g, C = 2, 3, 8, 4
	x := randTensor(rng, B, K*g, C)
	exec, err := gmodel.NewExec(goBackend(t), store, func(s *gmodel.Scope, x *Node) *Node { return a.tokenNorm(s.In("n"), x, g) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	y := tensors.MustCopyFlatData[float32](out[0])
	for b := range B {
		for k := range K {
			for c := range C {
				var s, ss float64
				for j := range g {
					v := float64(y[((b*K*g)+k*g+j)*C+c])
					s += v
					ss += v * v
				}
				mean, v := s/g, ss/g-(s/g)*(s/g)
				if math.Abs(mean) > 1e-5 || math.Abs(v-1) > 1e-3 {
					t.Fatalf("(%d,%d,%d): mean %g var %g", b, k, c, mean, v)
				}
			}
		}
	}
	if v := store.GetVariable("/n/scale"); v == nil || v.Shape().Size() != g {
		t.Fatalf("scale variable %v, want %d entries", v, g)
	}
}

// paramCount builds the forward graph of a configuration (no execution)
// and counts the model's parameters.
func paramCount(t *testing.T, named, set string, genes int, spatial bool) int {
	t.Helper()
	cfg, err := Params.Resolve(named, set)
	if err != nil {
		t.Fatal(err)
	}
	a, err := archFrom(cfg, genes, 5, spatial)
	if err != nil {
		t.Fatal(err)
	}
	store := gmodel.NewStore()
	g := NewGraph(goBackend(t), "count")
	tok := Parameter(g, "tokens", shapes.Make(dtypes.Int32, 1, a.seqLen()))
	var coords *Node
	if spatial {
		coords = Parameter(g, "coords", shapes.Make(dtypes.Float32, 1, a.cells, 2))
	}
	gmodel.SetStore(g, store)
	logits := a.forward(store.RootScope(), tok, coords)
	if got := logits.Shape().Dimensions; got[1] != a.seqLen() || got[2] != 7 {
		t.Fatalf("logits %v", got)
	}
	n := 0
	for v := range store.IterVariables() {
		n += v.Shape().Size()
	}
	return n
}

// TestPaperParameterCount: at the paper configuration and the released
// gene count (19,965 genes padded to 19,968) the model has 79,204,163
// parameters, +1,344 with the spatial Linear(20 → 64) — the count of
// sct-reference.md §2.9 (computed there from the released checkpoint's
// shapes; "approximately 80 million parameters", paper §3).
func TestPaperParameterCount(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the 79 M-parameter graph")
	}
	if n := paramCount(t, "paper", "", 19965, false); n != 79204163 {
		t.Errorf("paper config: %d parameters, want 79,204,163", n)
	}
	if n := paramCount(t, "paper", "", 19965, true); n != 79204163+1344 {
		t.Errorf("paper config, spatial: %d parameters, want 79,205,507", n)
	}
}
