package archive

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"time"
)

// dosEpoch is the earliest time an MS-DOS timestamp can hold; zip times are clamped to it.
var dosEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// tarTime is the entry time written: whole seconds in UTC, never before 1970, so that the
// header stays plain ustar (no PAX time records).
func tarTime(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second)
	if t.Before(time.Unix(0, 0)) {
		return time.Unix(0, 0).UTC()
	}
	return t
}

// WriteTar writes entries as an uncompressed tar stream.
func WriteTar(w io.Writer, entries []Entry, mtime time.Time) error {
	entries, err := Normalize(entries)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := writeTarEntry(tw, e, tarTime(mtime)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive: tar: %w", err)
	}
	return nil
}

func writeTarEntry(tw *tar.Writer, e Entry, mtime time.Time) error {
	hdr := &tar.Header{
		Name:    e.Name,
		Mode:    int64(e.normMode().Perm()),
		ModTime: mtime,
	}
	if e.IsDir() {
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive: tar: %s: %w", e.Name, err)
		}
		return nil
	}
	rc, size, err := e.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	hdr.Typeflag = tar.TypeReg
	hdr.Size = size
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive: tar: %s: %w", e.Name, err)
	}
	return copyExactly(tw, rc, size, e.Name)
}

// Level is the one compression level of tar.gz and zip output. Level 6 (the default of gzip
// and zlib) compresses a Go binary within 0.5% of level 9 at three times the speed (see
// BenchmarkWriteTarGz); changing it changes every archive's bytes.
const Level = flate.DefaultCompression

// WriteTarGz writes entries as a gzip-compressed tar stream. The gzip header has no name,
// no comment and a zero time; the compression level is fixed (Level).
func WriteTarGz(w io.Writer, entries []Entry, mtime time.Time) error {
	zw, err := gzip.NewWriterLevel(w, Level)
	if err != nil {
		return fmt.Errorf("archive: gzip: %w", err)
	}
	if err := WriteTar(zw, entries, mtime); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("archive: gzip: %w", err)
	}
	return nil
}

// WriteZip writes entries as a zip archive. Times are stored only in the MS-DOS fields
// (clamped to 1980, the format's epoch), entries are deflated at a fixed level, and Unix
// modes go in the external attributes so that unzip restores the execute bit.
func WriteZip(w io.Writer, entries []Entry, mtime time.Time) error {
	entries, err := Normalize(entries)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, Level)
	})
	t := mtime.UTC()
	if t.Before(dosEpoch) {
		t = dosEpoch
	}
	for _, e := range entries {
		if err := writeZipEntry(zw, e, t); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("archive: zip: %w", err)
	}
	return nil
}

func writeZipEntry(zw *zip.Writer, e Entry, t time.Time) error {
	fh := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
	// Setting Modified would make archive/zip add an extended-timestamp extra field; the
	// MS-DOS fields alone are what "no extra timestamps" means.
	fh.ModifiedDate, fh.ModifiedTime = dosTime(t) //lint:ignore SA1019 deliberate: see above
	fh.SetMode(e.normMode())
	if e.IsDir() {
		fh.Name += "/"
		fh.Method = zip.Store
		if _, err := zw.CreateHeader(fh); err != nil {
			return fmt.Errorf("archive: zip: %s: %w", e.Name, err)
		}
		return nil
	}
	rc, size, err := e.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	fw, err := zw.CreateHeader(fh)
	if err != nil {
		return fmt.Errorf("archive: zip: %s: %w", e.Name, err)
	}
	return copyExactly(fw, rc, size, e.Name)
}

// dosTime encodes t (UTC) as MS-DOS date and time fields (two-second resolution).
func dosTime(t time.Time) (date, clock uint16) {
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}
