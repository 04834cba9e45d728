package bus

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEveryKafkaGoClientHasItsOwnTransport: every kafka.Client and
// kafka.Writer literal in the module names its Transport. One without
// shares kafka.DefaultTransport, which answers metadata requests from a
// cache refreshed at random within 6 s: a writer to a topic created since
// the last refresh fails at once with "Unknown Topic Or Partition" (a test
// failed so), and a client asking for partition leaders after a broker
// stopped gets the old ones.
func TestEveryKafkaGoClientHasItsOwnTransport(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		name := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/segmentio/kafka-go" {
				name = "kafka"
				if imp.Name != nil {
					name = imp.Name.Name
				}
			}
		}
		if name == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Client" && sel.Sel.Name != "Writer") {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != name {
				return true
			}
			checked++
			for _, el := range lit.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Transport" {
						return true
					}
				}
			}
			t.Errorf("%s: kafka.%s without a Transport of its own (use bus.NewTransport and close it with CloseIdleConnections)", fset.Position(lit.Pos()), sel.Sel.Name)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 5 {
		t.Fatalf("found only %d kafka.Client/Writer literals: is the walk looking at the module?", checked)
	}
}
