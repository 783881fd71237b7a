package data

import "fmt"

// CheckCSVHeader returns an error naming the first column name that
// occurs twice in a CSV header: every CSV reader of cellbench refuses such
// a file rather than silently reading one of the two columns (the one
// rule for embedding, positions, aggregate and external-model CSVs).
func CheckCSVHeader(header []string) error {
	seen := make(map[string]int, len(header))
	for j, h := range header {
		if k, dup := seen[h]; dup {
			return fmt.Errorf("header: column %s appears twice (columns %d and %d): rename one", Quote(h), k+1, j+1)
		}
		seen[h] = j
	}
	return nil
}
