package docflow

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// certIdentity turns the identity evidence the cases gate found into what the certificate carries.
func certIdentity(c *cases.Case, ev *cases.SigningEvidence) *signing.IdentityEvidence {
	if ev == nil {
		return nil
	}
	out := &signing.IdentityEvidence{Method: ev.Method, CheckedBy: ev.CheckedByName, At: ev.At, Ref: "case-check-" + strconv.FormatInt(ev.CheckID, 10), IDScheme: ev.IDScheme}
	if ev.IDNumber != "" {
		out.IDHash = signing.IdentifierHash(ev.IDScheme, c.Number, ev.IDNumber)
	}
	return out
}

// evidenceKey distinguishes a device key's certificates by the evidence they name: after a new identity check a
// new certificate naming it is issued, never an older one reused.
func evidenceKey(ev *cases.SigningEvidence) string {
	if ev == nil {
		return ""
	}
	return "/check-" + strconv.FormatInt(ev.CheckID, 10)
}

// PreparedRevision is the incremental update a prepared signature adds, for the device to check (what you see is
// what you sign, docs/signing.md): the signed revision is the base version's bytes (which the device downloaded
// and shows), then Update with Contents' placeholder, and the signature covers ByteRange of it: [0, a) and
// [b, b+c).
type PreparedRevision struct {
	BaseSize     int64    `json:"base_size"`
	BaseSHA256   string   `json:"base_sha256"`
	Update       string   `json:"update"` // base64: Head, '<', 2×ContentsSize '0', '>', Tail
	ByteRange    [4]int64 `json:"byte_range"`
	ContentsSize int      `json:"contents_size"`
}

func revisionOf(p *signing.Pending) *PreparedRevision {
	head, tail := p.Head, p.Tail
	upd := make([]byte, 0, len(head)+2*p.ContentsSize+2+len(tail))
	upd = append(upd, head...)
	upd = append(upd, '<')
	upd = append(upd, bytes.Repeat([]byte("0"), 2*p.ContentsSize)...)
	upd = append(upd, '>')
	upd = append(upd, tail...)
	a := p.BaseSize + int64(len(head))
	b := a + int64(2*p.ContentsSize+2)
	return &PreparedRevision{BaseSize: p.BaseSize, BaseSHA256: fmt.Sprintf("%x", p.BaseSHA256), Update: base64.StdEncoding.EncodeToString(upd),
		ByteRange: [4]int64{0, a, b, int64(len(tail))}, ContentsSize: p.ContentsSize}
}
