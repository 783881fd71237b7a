package baselines

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// twoClusters: cells 0…n/2−1 express genes 0–4 at 10 counts and genes 5–9
// at 1; the others the reverse; every cell also has gene 10 at 2 counts.
// x, y put the clusters at two places. Synthetic, made by code.
func twoClusters(n int) *data.Dataset {
	const G = 11
	dense := make([]float32, n*G)
	d := &data.Dataset{Scale: data.Counts}
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range n {
		a, b := float32(10), float32(1)
		if i >= n/2 {
			a, b = 1, 10
			xs[i] = 100
		}
		xs[i] += float64(i % 5)
		ys[i] = float64(i / 5 % 3)
		for j := range 5 {
			dense[i*G+j], dense[i*G+5+j] = a, b
		}
		dense[i*G+10] = 2
		d.Obs.Index = append(d.Obs.Index, fmt.Sprint("c", i))
	}
	d.X = data.NewCSRFromDense(n, G, dense)
	d.Obs.Set(&data.Column{Name: "x", Kind: data.Float, Floats: xs})
	d.Obs.Set(&data.Column{Name: "y", Kind: data.Float, Floats: ys})
	for j := range G {
		d.Var.Index = append(d.Var.Index, fmt.Sprint("g", j))
	}
	return d
}

// TestModeImputer: the answer at gene g is g's bin frequencies in the
// training cells (hand-computed: genes 0–4 are bin 4 in half the cells and
// bin 1 in the other half; gene 10 (2 counts) is bin 1 in every cell).
func TestModeImputer(t *testing.T) {
	d := twoClusters(20)
	m := NewModeImputer()
	if err := m.Fit(context.Background(), d, tasks.ImputeSpec{Bins: 5}); err != nil {
		t.Fatal(err)
	}
	imp, err := m.Impute(context.Background(), d, []tasks.Position{{Cell: 0, Gene: 0}, {Cell: 3, Gene: 10}}, tasks.ImputeSpec{Bins: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{{0, 0.5, 0, 0, 0.5}, {0, 1, 0, 0, 0}}
	for k := range want {
		for b := range 5 {
			if math.Abs(float64(imp.Probs[k][b]-want[k][b])) > 1e-6 {
				t.Fatalf("position %d: %v, want %v", k, imp.Probs[k], want[k])
			}
		}
	}
	if _, err := m.Impute(context.Background(), d, nil, tasks.ImputeSpec{Bins: 7}); err == nil {
		t.Error("other bin count: no error")
	}
}

// TestKNNImputer: a cell of the first cluster with genes 5–9 masked gets
// its 5 neighbours' (first-cluster cells') value 1, rescaled by depth
// (observed genes agree exactly, factor 1); a whole masked spot gets the
// mean of its nearest spots, a whole masked cell of single-cell data the
// mean of its bag's other cells.
func TestKNNImputer(t *testing.T) {
	train := twoClusters(40)
	cfg, err := KNNImputeParams.Resolve("", "pca_dim=3")
	if err != nil {
		t.Fatal(err)
	}
	knn := NewKNNImputerFromConfig(cfg)
	if err := knn.Fit(context.Background(), train, tasks.ImputeSpec{Bins: 5}); err != nil {
		t.Fatal(err)
	}
	test := twoClusters(10)
	var masked []tasks.Position
	for g := 5; g < 10; g++ {
		masked = append(masked, tasks.Position{Cell: 0, Gene: g})
	}
	for g := range 11 {
		masked = append(masked, tasks.Position{Cell: 9, Gene: g}) // whole cell 9 (second cluster)
	}
	hidden := map[[2]int]bool{}
	for _, p := range masked {
		hidden[[2]int{p.Cell, p.Gene}] = true
	}
	dense := make([]float32, 10*11)
	for i := range 10 {
		for g := range 11 {
			if !hidden[[2]int{i, g}] {
				dense[i*11+g] = test.X.At(i, g)
			}
		}
	}
	test.X = data.NewCSRFromDense(10, 11, dense)
	// spatial: cell 9's nearest unmasked spots are cells 5–8 (second cluster at x≈100) and one more
	imp, err := knn.Impute(context.Background(), test, masked, tasks.ImputeSpec{Bins: 5, CoordCols: []string{"x", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 5 {
		if math.Abs(imp.Log1p[k]-math.Log1p(1)) > 1e-6 {
			t.Errorf("cell 0 gene %d: log1p %g, want log1p(1)", 5+k, imp.Log1p[k])
		}
	}
	// cell 9: genes 0–4 → mean of its 5 nearest spots: cells 5–8 (1 count)
	// and the nearest first-cluster spot (10 counts) at x ≤ 4 → (4·1+10)/5.
	if got, want := imp.Log1p[5], math.Log1p((4*1.0+10)/5); math.Abs(got-want) > 1e-6 {
		t.Errorf("whole spot 9, gene 0: log1p %g, want %g", got, want)
	}
	// single-cell: cell 9's bag {5,…,9} → mean of cells 5–8 = 1 at gene 0.
	imp, err = knn.Impute(context.Background(), test, masked, tasks.ImputeSpec{Bins: 5, Bags: [][]int{{0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(imp.Log1p[5]-math.Log1p(1)) > 1e-6 {
		t.Errorf("whole cell 9 from its bag: log1p %g, want log1p(1)", imp.Log1p[5])
	}
}
