package snapstore_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/snapstore"
)

// A tree uploaded blob by blob: PutTree names what is missing and stores
// nothing until every blob is there; a blob must hash to its ID and fit
// the limits.
func TestPutTreeBlobByBlob(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		s.Limits = snapstore.Limits{MaxFile: 64}
		a, b := []byte("package a\n"), []byte("package b\n")
		tree := snapstore.Tree{Entries: []snapstore.Entry{
			{Path: "pkg/b.go", Mode: snapstore.ModeFile, ID: snapstore.BlobID(b), Size: 3},
			{Path: "a.go", Mode: snapstore.ModeFile, ID: snapstore.BlobID(a)},
		}}
		// A declared size over the limit is refused before any upload,
		// naming the file and the setting.
		over := snapstore.Tree{Entries: []snapstore.Entry{{Path: "pkg/big.bin", Mode: snapstore.ModeFile, ID: snapstore.BlobID(b), Size: 999}}}
		_, _, err := s.PutTree(ctx, over)
		require.ErrorIs(t, err, snapstore.ErrTooLarge)
		require.ErrorContains(t, err, "pkg/big.bin")
		require.ErrorContains(t, err, "HANDOFF_SNAPSHOT_MAX_FILE")

		id, missing, err := s.PutTree(ctx, tree)
		require.NoError(t, err)
		require.Empty(t, id)
		require.ElementsMatch(t, []string{snapstore.BlobID(a), snapstore.BlobID(b)}, missing)
		require.Equal(t, 0, count(t, s, "handoff_tree"))

		err = s.PutBlob(ctx, snapstore.BlobID(a), b)
		require.ErrorIs(t, err, snapstore.ErrBadEntry)
		require.Contains(t, err.Error(), "hashes to "+snapstore.BlobID(b))
		big := bytes.Repeat([]byte("x"), 65)
		require.ErrorIs(t, s.PutBlob(ctx, snapstore.BlobID(big), big), snapstore.ErrTooLarge)
		require.NoError(t, s.PutBlob(ctx, snapstore.BlobID(a), a))
		require.NoError(t, s.PutBlob(ctx, snapstore.BlobID(a), a), "again: nothing changes")

		missing, err = s.Missing(ctx, []string{snapstore.BlobID(a), snapstore.BlobID(b), snapstore.BlobID(b)})
		require.NoError(t, err)
		require.Equal(t, []string{snapstore.BlobID(b)}, missing)
		require.NoError(t, s.PutBlob(ctx, snapstore.BlobID(b), b))

		id, missing, err = s.PutTree(ctx, tree)
		require.NoError(t, err)
		require.Empty(t, missing)
		got, err := s.Tree(ctx, id)
		require.NoError(t, err)
		require.Equal(t, []snapstore.Entry{
			{Path: "a.go", Mode: snapstore.ModeFile, ID: snapstore.BlobID(a), Size: int64(len(a))},
			{Path: "pkg/b.go", Mode: snapstore.ModeFile, ID: snapstore.BlobID(b), Size: int64(len(b))},
		}, got.Entries, "sorted, sizes from the stored blobs")

		for _, bad := range []snapstore.Entry{
			{Path: "../x.go", Mode: snapstore.ModeFile, ID: snapstore.BlobID(a)},
			{Path: "/etc/passwd", Mode: snapstore.ModeFile, ID: snapstore.BlobID(a)},
			{Path: "a//b.go", Mode: snapstore.ModeFile, ID: snapstore.BlobID(a)},
			{Path: "a.go", Mode: "040000", ID: snapstore.BlobID(a)},
			{Path: "a.go", Mode: snapstore.ModeFile, ID: "nothex"},
		} {
			_, _, err := s.PutTree(ctx, snapstore.Tree{Entries: []snapstore.Entry{bad}})
			require.ErrorIs(t, err, snapstore.ErrBadEntry, "%+v", bad)
		}
	})
}

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: mode, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// A tar.gz of a workspace goes in as a tree: files, executables, links
// inside; .git left out. Anything unsafe refuses the whole archive, and
// nothing is stored.
func TestTarGz(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		good := tarGz(t,
			tarEntry{name: "./", typ: tar.TypeDir},
			tarEntry{name: "./go.mod", body: "module x\n", typ: tar.TypeReg},
			tarEntry{name: "./pkg/", typ: tar.TypeDir},
			tarEntry{name: "./pkg/a.go", body: "package pkg\n", typ: tar.TypeReg},
			tarEntry{name: "./run.sh", body: "#!/bin/sh\n", typ: tar.TypeReg, mode: 0o755},
			tarEntry{name: "./pkg/link.go", link: "a.go", typ: tar.TypeSymlink},
			tarEntry{name: "./copy.go", link: "pkg/a.go", typ: tar.TypeLink},
			tarEntry{name: "./.git/HEAD", body: "ref: refs/heads/main\n", typ: tar.TypeReg},
		)
		id, st, err := s.Put(ctx, &snapstore.TarGz{R: bytes.NewReader(good)})
		require.NoError(t, err)
		require.Equal(t, 5, st.Files)
		tree, err := s.Tree(ctx, id)
		require.NoError(t, err)
		modes := map[string]string{}
		for _, e := range tree.Entries {
			modes[e.Path] = e.Mode
		}
		require.Equal(t, map[string]string{"copy.go": snapstore.ModeFile, "go.mod": snapstore.ModeFile, "pkg/a.go": snapstore.ModeFile,
			"pkg/link.go": snapstore.ModeSymlink, "run.sh": snapstore.ModeExecutable}, modes)
		trees, blobs := count(t, s, "handoff_tree"), count(t, s, "handoff_blob")

		for name, tc := range map[string]struct {
			archive []byte
			want    string
		}{
			"dotdot":       {tarGz(t, tarEntry{name: "ok.go", body: "package ok\n", typ: tar.TypeReg}, tarEntry{name: "../evil.go", body: "x", typ: tar.TypeReg}), `../evil.go climbs out of the workspace through ".."`},
			"absolute":     {tarGz(t, tarEntry{name: "/etc/evil", body: "x", typ: tar.TypeReg}), "/etc/evil is an absolute path"},
			"symlink out":  {tarGz(t, tarEntry{name: "l", link: "../../etc/passwd", typ: tar.TypeSymlink}), "l is a symbolic link to ../../etc/passwd, outside the workspace"},
			"symlink abs":  {tarGz(t, tarEntry{name: "l", link: "/etc/passwd", typ: tar.TypeSymlink}), "outside the workspace"},
			"symlink hops": {tarGz(t, tarEntry{name: "d/l", link: "../q", typ: tar.TypeSymlink}, tarEntry{name: "x", link: "d/l/../..", typ: tar.TypeSymlink}), "leads outside the workspace through other links"},
			"device":       {tarGz(t, tarEntry{name: "dev/null", typ: tar.TypeChar}), "dev/null is a device file"},
			"fifo":         {tarGz(t, tarEntry{name: "pipe", typ: tar.TypeFifo}), "pipe is a fifo"},
			"not gzip":     {[]byte("plain text"), "not gzip-compressed"},
		} {
			_, _, err := s.Put(ctx, &snapstore.TarGz{R: bytes.NewReader(tc.archive)})
			require.ErrorIs(t, err, snapstore.ErrBadEntry, name)
			require.Contains(t, err.Error(), tc.want, name)
		}
		big := tarGz(t, tarEntry{name: "a", body: "0123456789", typ: tar.TypeReg}, tarEntry{name: "b", body: "0123456789", typ: tar.TypeReg})
		_, _, err = s.Put(ctx, &snapstore.TarGz{R: bytes.NewReader(big), Limits: snapstore.Limits{MaxTotal: 15}})
		require.ErrorIs(t, err, snapstore.ErrTooLarge)
		require.Contains(t, err.Error(), "HANDOFF_SNAPSHOT_MAX_TOTAL")
		_, _, err = s.Put(ctx, &snapstore.TarGz{R: bytes.NewReader(big), Limits: snapstore.Limits{MaxFile: 5}})
		require.ErrorIs(t, err, snapstore.ErrTooLarge)
		require.Equal(t, trees, count(t, s, "handoff_tree"), "a refused archive stores nothing")
		require.Equal(t, blobs, count(t, s, "handoff_blob"), "a refused archive stores nothing")
	})
}
