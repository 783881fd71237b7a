//go:build !cgo

package scib_test

import "testing"

// pcaEmbeddings: without cgo the .h5ad datasets cannot be read, so the
// reference comparison covers the two CSV embeddings only (logged).
func pcaEmbeddings(t *testing.T) []sharedEmbedding {
	t.Log("built without cgo: the two PCA embeddings (.h5ad) are not compared")
	return nil
}
