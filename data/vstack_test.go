package data

import "testing"

// VStack keeps every row of every part, in order (hand-checked dense
// matrices), and stacks an empty list into 0 rows.
func TestVStack(t *testing.T) {
	a := NewCSRFromDense(2, 3, []float32{1, 0, 2, 0, 0, 0})
	b := NewCSRFromDense(1, 3, []float32{0, 3, 4})
	got := VStack([]*CSR{a, b, a}, 3)
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 0, 2, 0, 0, 0, 0, 3, 4, 1, 0, 2, 0, 0, 0}
	if got.Rows != 5 || got.Cols != 3 {
		t.Fatalf("shape %d×%d, want 5×3", got.Rows, got.Cols)
	}
	for i := 0; i < 5; i++ {
		for j := 0; j < 3; j++ {
			if v := got.At(i, j); v != want[i*3+j] {
				t.Errorf("(%d,%d) = %v, want %v", i, j, v, want[i*3+j])
			}
		}
	}
	if e := VStack(nil, 4); e.Rows != 0 || e.Cols != 4 || e.Validate() != nil {
		t.Errorf("empty stack %+v", e)
	}
}
