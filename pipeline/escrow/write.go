package escrow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
)

// Output is what Write produced.
type Output struct {
	Members []Member // sorted by name
	SHA256  string   // hex digest of escrow.tar.gz: what its signature covers
	Files   []string // the bundle files written: escrow.tar.gz and its signature
}

// Write archives the bundle's records in dir into dir/escrow.tar.gz, with mtime on every
// entry, and signs it with key into dir/escrow.tar.gz.sigstore.json.
func Write(dir string, key *keys.PrivateKey, mtime time.Time) (*Output, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no signing key", ErrEscrow)
	}
	entries, members, err := collect(dir)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := archive.WriteTarGz(&buf, entries, mtime); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrEscrow, bundle.EscrowFile, err)
	}
	if buf.Len() > MaxArchiveSize {
		return nil, fmt.Errorf("%w: %s would be %d bytes, over the %d-byte limit", ErrEscrow, bundle.EscrowFile, buf.Len(), MaxArchiveSize)
	}
	if err := bundle.WriteFile(dir, bundle.EscrowFile, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEscrow, err)
	}
	if _, err := sign.File(dir, bundle.EscrowFile, key); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEscrow, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return &Output{Members: members, SHA256: hex.EncodeToString(sum[:]), Files: []string{bundle.EscrowFile, bundle.EscrowSigFile}}, nil
}

// collect reads the records present in the bundle, through bundle.Open so that no symlink
// is followed, and returns them as archive entries and members, sorted by name.
func collect(dir string) ([]archive.Entry, []Member, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrEscrow, err)
	}
	defer b.Close()
	names, err := recordNames(b)
	if err != nil {
		return nil, nil, err
	}
	var entries []archive.Entry
	var members []Member
	var total int64
	for _, name := range names {
		data, err := b.ReadFile(name, MaxMemberSize)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrEscrow, err)
		}
		if total += int64(len(data)); total > MaxTotalSize {
			return nil, nil, fmt.Errorf("%w: the records add up to more than %d bytes", ErrEscrow, MaxTotalSize)
		}
		sum := sha256.Sum256(data)
		entries = append(entries, archive.Entry{Name: name, Mode: archive.ModeFile, Data: data})
		members = append(members, Member{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	return entries, members, nil
}

// recordNames lists the records to escrow: the required ones (an error when one is
// missing) and the others the bundle has.
func recordNames(b *bundle.Bundle) ([]string, error) {
	var names []string
	for _, name := range required {
		if !b.Exists(name) {
			return nil, fmt.Errorf("%w: the bundle has no %s: digest and sign it before escrow", ErrEscrow, name)
		}
		names = append(names, name)
	}
	for _, name := range fixed {
		if b.Exists(name) {
			names = append(names, name)
		}
	}
	inv, err := b.Inventory()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEscrow, err)
	}
	for _, e := range inv {
		if bundle.IsProvenanceShard(e.Path) {
			names = append(names, e.Path)
		}
	}
	if len(names) > MaxMembers {
		return nil, fmt.Errorf("%w: %d records, over the %d-member limit", ErrEscrow, len(names), MaxMembers)
	}
	sort.Strings(names)
	return names, nil
}
