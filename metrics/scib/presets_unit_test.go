package scib

import (
	"math"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// TestBRASHandComputed: one label, cells a1 = (1,0), a2 = (0,3) in batch A
// and b1 = (2,0), b2 = (−1,0) in batch B. Cosine distances (hand-computed,
// length does not matter): d(a1,a2) = 1, d(a1,b1) = 0, d(a1,b2) = 2,
// d(a2,b1) = 1, d(a2,b2) = 1, d(b1,b2) = 2. mean_other: a1: a = 1,
// b = (0+2)/2 = 1, s = 0; a2: a = 1, b = 1, s = 0; b1: a = 2,
// b = (0+1)/2 = 0.5, s = −0.75; b2: a = 2, b = 1.5, s = −0.25. BRAS =
// mean(1, 1, 0.25, 0.75) = 0.75. (With the nearest-batch silhouette the
// values would be the same here: two batches only.)
func TestBRASHandComputed(t *testing.T) {
	x := &data.Dense{Rows: 4, Cols: 2, Data: []float64{1, 0, 0, 3, 2, 0, -1, 0}}
	lab := Encode([]string{"L", "L", "L", "L"})
	bat := Encode([]string{"A", "A", "B", "B"})
	for _, workers := range []int{1, 3} {
		if got, why := BRAS(x, lab, bat, workers); math.Abs(got-0.75) > 1e-15 || why != "" {
			t.Errorf("workers %d: BRAS = %v (%q), want 0.75", workers, got, why)
		}
	}
	// Three batches: mean_other averages over every other-batch cell, the
	// nearest-batch silhouette would not. Add c1 = (1,1) in batch C:
	// d(a1,c1) = d(b1,c1) = 1 − 1/√2, d(a2,c1) = 1 − 1/√2, d(b2,c1) = 1 + 1/√2.
	// a1: a = 1, b = (0 + 2 + r)/3 with r = 1 − 1/√2;
	// a2: a = 1, b = (1 + 1 + r)/3; b1: a = 2, b = (0 + 1 + r)/3;
	// b2: a = 2, b = (2 + 1 + (2 − r))/3; c1: singleton batch, s = 0.
	x3 := &data.Dense{Rows: 5, Cols: 2, Data: []float64{1, 0, 0, 3, 2, 0, -1, 0, 1, 1}}
	bat3 := Encode([]string{"A", "A", "B", "B", "C"})
	r := 1 - 1/math.Sqrt2
	s := func(a, b float64) float64 { return 1 - math.Abs((b-a)/math.Max(a, b)) }
	want := (s(1, (2+r)/3) + s(1, (2+r)/3) + s(2, (1+r)/3) + s(2, (5-r)/3) + 1) / 5
	if got, _ := BRAS(x3, Encode([]string{"L", "L", "L", "L", "L"}), bat3, 2); math.Abs(got-want) > 1e-15 {
		t.Errorf("three batches: BRAS = %.17g, want %.17g", got, want)
	}
	// Undefined cases: NaN with a reason.
	if v, why := BRAS(x, lab, Encode([]string{"A", "A", "A", "A"}), 1); !math.IsNaN(v) || !strings.Contains(why, "single batch") {
		t.Errorf("one batch: %v %q", v, why)
	}
	z := &data.Dense{Rows: 4, Cols: 2, Data: []float64{1, 0, 0, 0, 2, 0, -1, 0}}
	if v, why := BRAS(z, lab, bat, 1); !math.IsNaN(v) || !strings.Contains(why, "zero vector") {
		t.Errorf("zero row: %v %q", v, why)
	}
	// Identical cells (a collapsed embedding): every distance is exactly 0,
	// s = 0/0 → 0, BRAS = 1, as in scib-metrics.
	same := &data.Dense{Rows: 4, Cols: 2, Data: []float64{0.1, 0.7, 0.1, 0.7, 0.1, 0.7, 0.1, 0.7}}
	if v, _ := BRAS(same, lab, bat, 1); v != 1 {
		t.Errorf("identical cells: BRAS = %v, want 1", v)
	}
}

// TestPresets: the bio and batch aggregates are the skip-NaN means of the
// preset's members, total = 0.6·bio + 0.4·batch, and the report names its
// preset; unknown presets are errors.
func TestPresets(t *testing.T) {
	x, lab, bat := blobs(2, 3, 2, 30, 4, 1.5)
	for _, p := range Presets() {
		opt := DefaultOptions()
		opt.Preset = p
		opt.Workers = 2
		opt.Pre = x
		rep, err := Benchmark(x, lab, bat, opt)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Preset != p {
			t.Errorf("report preset %q, want %q", rep.Preset, p)
		}
		bio, batch, _ := p.Members()
		meanOf := func(names []string) float64 {
			var s float64
			for _, m := range names {
				v, ok := rep.Get(m)
				if !ok || math.IsNaN(v.Value) {
					t.Fatalf("%s: member %s missing or NaN", p, m)
				}
				s += v.Value
			}
			return s / float64(len(names))
		}
		b, _ := rep.Get(BioName)
		c, _ := rep.Get(BatchName)
		tot, _ := rep.Get(TotalName)
		if math.Abs(b.Value-meanOf(bio)) > 1e-15 || math.Abs(c.Value-meanOf(batch)) > 1e-15 {
			t.Errorf("%s: bio %v batch %v, want %v %v", p, b.Value, c.Value, meanOf(bio), meanOf(batch))
		}
		if math.Abs(tot.Value-(0.6*b.Value+0.4*c.Value)) > 1e-15 {
			t.Errorf("%s: total %v", p, tot.Value)
		}
	}
	if got, _, _ := PresetScibMetrics.Members(); len(got) != 5 {
		t.Errorf("bio set %v", got)
	}
	_, b06, _ := PresetScibMetrics.Members()
	_, b1, _ := PresetScib1.Members()
	if b06[0] != BRASName || b1[0] != SilhouetteBatchName {
		t.Errorf("batch sets %v / %v", b06, b1)
	}
	opt := DefaultOptions()
	opt.Preset = "scib-2"
	if _, err := Benchmark(x, lab, bat, opt); err == nil || !strings.Contains(err.Error(), "scib-metrics-0.6") {
		t.Errorf("unknown preset: err = %v", err)
	}
	if p, err := ParsePreset("scib-1"); err != nil || p != PresetScib1 {
		t.Errorf("ParsePreset(scib-1) = %q, %v", p, err)
	}
	if _, err := ParsePreset(""); err == nil {
		t.Error("ParsePreset(\"\"): no error")
	}
}

// TestKBETPerLabelRules checks the scib-metrics rules on synthetic labels:
// well-mixed batches are accepted, separated batches rejected, a label of
// < 10 cells and a single-batch label are NaN, the running minimum of the
// diffusion components carries a small label's n − 1 to every later label,
// and both neighbour searches agree on the clear cases.
func TestKBETPerLabelRules(t *testing.T) {
	// Labels (sorted): "A_small" 24 cells (2 batches mixed), "B_mixed" 240,
	// "C_split" 240 with batches 6 apart, "D_tiny" 6 cells, "E_one" 40 in one batch.
	mixed, ml, mb := blobs(11, 1, 2, 120, 3, 0)
	split, _, sb := blobs(12, 1, 2, 120, 3, 6)
	small, _, smb := blobs(13, 1, 2, 12, 3, 0)
	tiny, _, tb := blobs(14, 1, 2, 3, 3, 0)
	one, _, ob := blobs(15, 1, 1, 40, 3, 0)
	x := &data.Dense{Cols: 3}
	var labels, batches []string
	add := func(part *data.Dense, name string, bs []string, shift float64) {
		for i := 0; i < part.Rows; i++ {
			row := append([]float64(nil), part.Row(i)...)
			row[2] += shift
			x.Data = append(x.Data, row...)
			x.Rows++
			labels = append(labels, name)
		}
		batches = append(batches, bs...)
	}
	add(small, "A_small", smb, 100)
	add(mixed, "B_mixed", mb, 200)
	add(split, "C_split", sb, 300)
	add(tiny, "D_tiny", tb, 400)
	add(one, "E_one", ob, 500)
	_ = ml
	lab, bat := Encode(labels), Encode(batches)
	conn := FuzzyConnectivities(ExactKNN(x, 50, 2), 2)
	for _, search := range []KBETSearch{KBETDiffusion, KBETEmbedding} {
		v, per := KBETPerLabel(x, conn, lab, bat, KBETOptions{Alpha: 0.05, Search: search, DiffusionComps: 100, Workers: 2})
		byName := map[string]KBETLabel{}
		for _, p := range per {
			byName[p.Label] = p
		}
		if p := byName["B_mixed"]; !(p.Score > 0.6) || p.K0 != 30 || p.Tested != 240 {
			t.Errorf("%v: mixed label %+v, want acceptance > 0.6, k0 = ⌊120/4⌋ = 30", search, p)
		}
		// Separated batches form two connected components of 120 ≥ 3·k0
		// cells, both kept. In the embedding every neighbour is of the own
		// batch: 0. In the multiscale diffusion map the two components'
		// λ = 1 coordinates differ by only ~0.1 while the other coordinates
		// are scaled by λ/(1 − λ) up to ~5, so a few neighbours cross over
		// (scib-metrics does the same): low, not 0.
		if p := byName["C_split"]; (search == KBETEmbedding && p.Score != 0) || !(p.Score < 0.1) {
			t.Errorf("%v: split label %+v, want < 0.1 (0 in the embedding)", search, p)
		}
		if p := byName["D_tiny"]; !math.IsNaN(p.Score) || p.Reason != "fewer than 10 cells" {
			t.Errorf("%v: tiny label %+v", search, p)
		}
		if p := byName["E_one"]; !math.IsNaN(p.Score) || p.Reason != "single batch" {
			t.Errorf("%v: one-batch label %+v", search, p)
		}
		if p := byName["A_small"]; p.K0 != 10 {
			t.Errorf("%v: small label k0 = %d, want max(10, ⌊12/4⌋) = 10", search, p.K0)
		}
		if search == KBETDiffusion {
			// scib-metrics' loop variable: 23 = 24 − 1 from A_small on.
			for _, name := range []string{"A_small", "B_mixed", "C_split"} {
				if p := byName[name]; p.Comps != 23 || len(p.Eigenvalues) != 23 || p.Eigenvalues[0] != 1 {
					t.Errorf("%s: %d components, eigenvalues %v; want 23 (running minimum), λ_0 = 1", name, p.Comps, p.Eigenvalues)
				}
			}
		}
		want := (byName["A_small"].Score + byName["B_mixed"].Score + byName["C_split"].Score) / 3
		if math.Abs(v-want) > 1e-15 {
			t.Errorf("%v: kbet_per_label = %v, want the nanmean %v", search, v, want)
		}
	}
}

// TestKBETComponentsRule: a label made of two far-apart clumps of 20 cells
// with k0 = 10 (components need ≥ 30 cells) keeps no cell and scores 0; a
// label of two clumps of 120 keeps both and is tested.
func TestKBETComponentsRule(t *testing.T) {
	two, _, tb := blobs(21, 2, 2, 10, 3, 0) // labels L0, L1 10 apart: two components
	big, _, bb := blobs(22, 2, 2, 60, 3, 0)
	x := &data.Dense{Cols: 3}
	var labels []string
	for i := 0; i < two.Rows; i++ {
		x.Data = append(x.Data, two.Row(i)...)
		labels = append(labels, "clumps20")
	}
	for i := 0; i < big.Rows; i++ {
		row := append([]float64(nil), big.Row(i)...)
		row[2] += 100
		x.Data = append(x.Data, row...)
		labels = append(labels, "clumps120")
	}
	x.Rows = len(labels)
	lab, bat := Encode(labels), Encode(append(tb, bb...))
	conn := FuzzyConnectivities(ExactKNN(x, 15, 1), 2)
	_, per := KBETPerLabel(x, conn, lab, bat, KBETOptions{Alpha: 0.05, Search: KBETDiffusion, DiffusionComps: 100, Workers: 1})
	for _, p := range per {
		switch p.Label {
		case "clumps20":
			if p.Score != 0 || !strings.Contains(p.Reason, "connected components") {
				t.Errorf("clumps20: %+v, want 0 by the component rule", p)
			}
		case "clumps120":
			if p.Tested != 240 || p.Comps != 100 || math.IsNaN(p.Score) || p.Eigenvalues[0] != 1 || p.Eigenvalues[1] != 1 {
				t.Errorf("clumps120: tested %d comps %d score %v λ %v; want 240 tested, 100 comps, λ = 1 twice", p.Tested, p.Comps, p.Score, p.Eigenvalues[:3])
			}
		}
	}
}

// TestLeiden: on three planted blobs Leiden finds them at a low
// resolution; at higher resolutions every community is connected
// (Leiden's guarantee), the modularity is not below Louvain's by more than
// 1e-3, and a seed gives one partition.
func TestLeiden(t *testing.T) {
	x, lab, _ := blobs(3, 3, 1, 80, 4, 0)
	g := FuzzyConnectivities(ExactKNN(x, 15, 2), 2)
	if got := Leiden(g, 0.1, 0); NMI(encodeInts(got), Encode(lab)) < 1-1e-12 {
		t.Fatalf("Leiden at 0.1 does not recover the blobs")
	}
	y, _, _ := blobs(5, 1, 1, 1500, 6, 0)
	h := FuzzyConnectivities(ExactKNN(y, 15, 2), 2)
	for _, res := range []float64{0.5, 1, 2} {
		part := Leiden(h, res, 7)
		members := map[int][]int{}
		for i, c := range part {
			members[c] = append(members[c], i)
		}
		for c, cells := range members {
			if _, n := h.components(cells); n != 1 {
				t.Errorf("res %v: community %d (%d cells) has %d components", res, c, len(cells), n)
			}
		}
		ql, qv := Modularity(h, part, res), Modularity(h, Louvain(h, res, 7), res)
		if ql < qv-1e-3 {
			t.Errorf("res %v: Leiden Q %v below Louvain's %v", res, ql, qv)
		}
		again := Leiden(h, res, 7)
		for i := range part {
			if part[i] != again[i] {
				t.Fatalf("res %v: two runs with one seed differ", res)
			}
		}
		t.Logf("res %v: %d communities, Q Leiden %.5f, Louvain %.5f", res, len(members), ql, qv)
	}
	if r := LeidenResolutions(); len(r) != 10 || r[0] != 0.2 || r[9] != 2 {
		t.Errorf("LeidenResolutions = %v", r)
	}
}

// TestLISIsShareCalibration: LISIs for labels and batches together equals
// LISI for each alone, bit for bit (the β calibration is label-free).
func TestLISIsShareCalibration(t *testing.T) {
	x, lab, bat := blobs(6, 4, 3, 25, 5, 0.8)
	nb := ExactKNN(x, 30, 2)
	l, b := Encode(lab), Encode(bat)
	both := LISIs(nb, []Codes{l, b}, 0, 2)
	for g, c := range []Codes{l, b} {
		alone := LISI(nb, c, 0, 1)
		for i := range alone {
			if math.Float64bits(both[g][i]) != math.Float64bits(alone[i]) {
				t.Fatalf("grouping %d, cell %d: %v together, %v alone", g, i, both[g][i], alone[i])
			}
		}
	}
}
