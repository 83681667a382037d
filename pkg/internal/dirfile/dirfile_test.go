package dirfile

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadDir(t *testing.T) {
	mapFS := fstest.MapFS{"d/a": {}, "d/b": {}, "d/c": {}}
	entries, err := mapFS.ReadDir("d")
	if err != nil {
		t.Fatal(err)
	}
	info, err := mapFS.Stat("d")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		entries []fs.DirEntry
		calls   []int    // the n of each ReadDir call in turn
		want    []string // the names each call returns, joined by ","; "EOF" for io.EOF
	}{
		{"all at once", entries, []int{-1, -1}, []string{"a,b,c", ""}},
		{"zero means all", entries, []int{0}, []string{"a,b,c"}},
		{"in pages, then EOF", entries, []int{2, 2, 2}, []string{"a,b", "c", "EOF"}},
		{"a page larger than the rest", entries, []int{1, 5}, []string{"a", "b,c"}},
		{"the rest after a page", entries, []int{1, -1}, []string{"a", "b,c"}},
		{"empty directory", nil, []int{1, 0}, []string{"EOF", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(info, tc.entries)
			for i, n := range tc.calls {
				got, err := d.ReadDir(n)
				var names []string
				for _, e := range got {
					names = append(names, e.Name())
				}
				s := strings.Join(names, ",")
				if errors.Is(err, io.EOF) {
					s = "EOF"
				} else if err != nil {
					t.Fatalf("call %d: ReadDir(%d): %v", i, n, err)
				}
				if s != tc.want[i] {
					t.Errorf("call %d: ReadDir(%d) = %q, want %q", i, n, s, tc.want[i])
				}
			}
		})
	}
}

func TestReadFailsAndStatDescribes(t *testing.T) {
	info, err := fstest.MapFS{"d/a": {}}.Stat("d")
	if err != nil {
		t.Fatal(err)
	}
	d := New(info, nil)
	var pe *fs.PathError
	if _, err := d.Read(make([]byte, 1)); !errors.As(err, &pe) || pe.Op != "read" || pe.Path != "d" {
		t.Errorf("Read: %v, want a read PathError of d", err)
	}
	if got, err := d.Stat(); err != nil || got != info {
		t.Errorf("Stat = %v, %v; want the directory's info", got, err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
