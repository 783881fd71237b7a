package scib

import (
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/simple"
)

func toGonumCommunities(comms [][]int) [][]graph.Node {
	out := make([][]graph.Node, len(comms))
	for c, m := range comms {
		for _, i := range m {
			out[c] = append(out[c], simple.Node(i))
		}
	}
	return out
}
