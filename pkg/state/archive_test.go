package state

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func makeTarGz(t *testing.T, files map[string]string) string {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if strings.HasSuffix(name, "/") {
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755})
			continue
		}
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.String()
}

func makeZip(t *testing.T, files map[string]string) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.String()
}

func TestArchiveExtracted(t *testing.T) {
	dir := t.TempDir()
	content := map[string]string{"app-1.0/": "", "app-1.0/README": "read me\n", "app-1.0/bin/run": "#!/bin/sh\n"}
	files := map[string]string{
		"app.tar.gz": makeTarGz(t, content),
		"app.zip":    makeZip(t, map[string]string{"app-1.0/README": "read me\n", "app-1.0/bin/run": "#!/bin/sh\n"}),
		"s.sls": sub(`
tgz:
  archive.extracted:
    - name: DIR/opt
    - source: salt://app.tar.gz
    - user: nobody
zipped:
  archive.extracted:
    - name: DIR/zip
    - source: salt://app.zip
`, "DIR", dir),
	}
	first, _ := twice(t, files, Options{})
	mustOK(t, first)
	for _, p := range []string{"opt/app-1.0/README", "zip/app-1.0/bin/run"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	if r := byID(first, "tgz"); len(r.Changes["extracted_files"].([]any)) != 3 {
		t.Fatalf("changes %v", r.Changes)
	}
	bad := map[string]string{
		"evil.tar.gz": makeTarGz(t, map[string]string{"../evil": "x"}),
		"flat.tar.gz": makeTarGz(t, map[string]string{"a": "x", "b": "y"}),
		"s.sls": sub(`
evil: {archive.extracted: [{name: DIR/evil}, {source: salt://evil.tar.gz}, {enforce_toplevel: false}]}
flat: {archive.extracted: [{name: DIR/flat}, {source: salt://flat.tar.gz}]}
`, "DIR", dir),
	}
	res, err := New(nil, Deps{Files: writeTree(t, bad), Renderer: YAMLRenderer{}}, Options{}).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "evil"); r.Result != False || !strings.Contains(r.Comment, "outside the destination") {
		t.Fatalf("evil: %+v", r)
	}
	if r := byID(res, "flat"); r.Result != False || !strings.Contains(r.Comment, "single top-level directory") {
		t.Fatalf("flat: %+v", r)
	}
}
