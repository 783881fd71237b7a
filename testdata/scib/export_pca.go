//go:build ignore

// export_pca writes the unintegrated PCA embeddings that `cellbench score
// embed --data D --pca 50` scores (tasks.DatasetEmbeddings: log1p, 2,000
// seurat-flavour HVGs, scib.PCA with seed 0) of the two shared .h5ad
// datasets of the Benchmarker reference (make_benchmarker_reference.py) as
// CSV files cell,label,batch,PC1…PC50, every value with full precision
// (strconv 'g', -1: parsing gives back the same float64). Measurement tool
// only; its output stays outside the repository:
//
//	go run testdata/scib/export_pca.go -out /tmp/scib-pca
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/tasks"
)

func main() {
	out := flag.String("out", "", "output directory")
	flag.Parse()
	if *out == "" {
		log.Fatal("give -out DIR")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, d := range []struct{ name, label, batch string }{
		{"pbmc-symphony", "cell_type", "donor"},
		{"pancreas-baron", "Group", "Batch"},
	} {
		path, err := data.NewRegistry("").Resolve(d.name)
		if err != nil {
			log.Fatal(err)
		}
		ds, err := h5ad.Read(path)
		if err != nil {
			log.Fatal(err)
		}
		in, err := tasks.DatasetEmbeddings(ds, tasks.EmbeddingOptions{LabelCol: d.label, BatchCol: d.batch,
			PCA: 50, HVG: 2000, Scale: "auto", TargetSum: data.DefaultTargetSum})
		if err != nil {
			log.Fatal(err)
		}
		e := in[0]
		var b strings.Builder
		b.WriteString("cell,label,batch")
		for j := 0; j < e.X.Cols; j++ {
			fmt.Fprintf(&b, ",PC%d", j+1)
		}
		b.WriteString("\n")
		for i := 0; i < e.X.Rows; i++ {
			fmt.Fprintf(&b, "c%d,%s,%s", i, strconv.Quote(e.Labels[i]), strconv.Quote(e.Batches[i]))
			for _, v := range e.X.Row(i) {
				b.WriteString("," + strconv.FormatFloat(v, 'g', -1, 64))
			}
			b.WriteString("\n")
		}
		f := filepath.Join(*out, d.name+"_pca50.csv")
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Println(f, e.X.Rows, e.X.Cols)
	}
}
