package docflow

import (
	"archive/zip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"io"
	"path"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// The case file as a signed bundle for the court (issue 12 §5): a zip of the case's events, its documents'
// current versions and the materials the court may read, with manifest.json listing every file's SHA-256 and
// size, manifest.sig (the platform key's signature over SHA-256 of manifest.json, DER) and platform.pem (the
// platform certificate and its chain). Files are streamed into the zip; materials never sit whole in memory.

// BundleManifest is manifest.json.
type BundleManifest struct {
	Format    string         `json:"format"` // parley-case-bundle/1
	CaseID    string         `json:"case_id"`
	Number    string         `json:"number"`
	CourtNo   string         `json:"court_case_number,omitempty"`
	Title     string         `json:"title"`
	State     string         `json:"state"`
	EndGround string         `json:"end_ground,omitempty"`
	Events    int            `json:"events"`
	ChainHead string         `json:"chain_head"` // the hash of the last event of the case's chain
	Created   time.Time      `json:"created_at"`
	Files     []BundleFile   `json:"files"`
	Signer    map[string]any `json:"signer"`
}

// BundleFile is one file of the bundle.
type BundleFile struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"` // events, document, material
	ID     string `json:"id,omitempty"`
	Title  string `json:"title,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

// Bundle writes the case file of caseID for p (MayTakeBundle) to w and records its issue in the trail.
func (s *Service) Bundle(ctx context.Context, p cases.Principal, caseID string, w io.Writer) (*BundleManifest, error) {
	c, err := s.Store.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !cases.CanView(p, c) {
		return nil, cases.Errorf(cases.ENOTFOUND, "case not found")
	}
	if !cases.MayTakeBundle(p, c) {
		return nil, cases.Errorf(cases.EFORBIDDEN, "the case file goes to the case's court once mediation has ended")
	}
	evs, err := s.Store.Events(ctx, caseID)
	if err != nil {
		return nil, err
	}
	docs, err := s.Store.Documents(ctx, caseID)
	if err != nil {
		return nil, err
	}
	mats, err := s.Store.Materials(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	m := &BundleManifest{Format: "parley-case-bundle/1", CaseID: c.ID, Number: c.Number, CourtNo: c.CourtCaseNumber, Title: c.Title, State: string(c.State),
		EndGround: string(c.EndGround), Events: len(evs), Created: s.Now().In(s.Zone)}
	if len(evs) > 0 {
		m.ChainHead = hex.EncodeToString(evs[len(evs)-1].Hash)
	}
	zw := zip.NewWriter(w)
	add := func(f BundleFile, write func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.Path, Method: zip.Deflate, Modified: m.Created})
		if err != nil {
			return err
		}
		hw := &hashWriter{w: fw, h: sha256.New()}
		if err := write(hw); err != nil {
			return err
		}
		f.Size, f.SHA256 = hw.n, hex.EncodeToString(hw.h.Sum(nil))
		m.Files = append(m.Files, f)
		return nil
	}
	if err := add(BundleFile{Path: "events.json", Kind: "events", Title: "the case's hash-chained trail"}, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(evs)
	}); err != nil {
		return nil, fmt.Errorf("docflow: bundle: %w", err)
	}
	for _, d := range docs {
		if d.Status == cases.DocSuperseded {
			continue
		}
		pdf, _, err := s.Store.DocumentPDF(ctx, d.ID, 0)
		if err != nil {
			return nil, err
		}
		if err := add(BundleFile{Path: "documents/" + d.Kind + "-" + d.ID + ".pdf", Kind: "document", ID: d.ID, Title: d.Title}, func(w io.Writer) error {
			_, err := w.Write(pdf)
			return err
		}); err != nil {
			return nil, fmt.Errorf("docflow: bundle: %w", err)
		}
	}
	if c.EndGround != "" && c.EndGround != cases.GroundAgreement {
		// The mediator's failure report, signed (OMR Art. 21).
		if pdf, err := s.failureReport(ctx, c); err == nil {
			if err := add(BundleFile{Path: "documents/failure-report.pdf", Kind: "failure_report", Title: "调解不成告知书"}, func(w io.Writer) error {
				_, err := w.Write(pdf)
				return err
			}); err != nil {
				return nil, fmt.Errorf("docflow: bundle: %w", err)
			}
		} else if cases.ErrorCode(err) != cases.ENOTFOUND {
			return nil, err
		}
	}
	// The court's own documents, signed by the court and stored once (courtdocs.go): the ruling on judicial
	// confirmation, or the mediation statement of an entrusted case.
	for _, cd := range []struct{ kind, path string }{{cases.CourtRuling, "documents/ruling.pdf"}, {cases.CourtStatement, "documents/mediation-statement.pdf"}} {
		d, pdf, err := s.IssueCourtDocument(ctx, c, cd.kind)
		if cases.ErrorCode(err) == cases.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := add(BundleFile{Path: cd.path, Kind: cd.kind, ID: d.ID, Title: d.Title}, func(w io.Writer) error {
			_, err := w.Write(pdf)
			return err
		}); err != nil {
			return nil, fmt.Errorf("docflow: bundle: %w", err)
		}
	}
	for _, mat := range mats {
		name := path.Base(mat.Filename) // sanitised at upload; the ID keeps names apart
		if err := add(BundleFile{Path: "materials/" + mat.ID + "-" + name, Kind: "material", ID: mat.ID, Title: mat.Filename}, func(w io.Writer) error {
			_, err := s.Store.CopyMaterial(ctx, mat.ID, w)
			return err
		}); err != nil {
			return nil, fmt.Errorf("docflow: bundle: %w", err)
		}
	}
	kp := s.Keys.Platform
	m.Signer = map[string]any{"name": kp.Cert.Subject.CommonName, "certificate_sha256": SHA256Hex(kp.Cert.Raw), "file": "platform.pem", "signature": "manifest.sig"}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(raw)
	sig, err := kp.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("docflow: bundle: sign: %w", err)
	}
	var certs []byte
	for _, cert := range append([]*x509.Certificate{kp.Cert}, kp.Chain...) {
		certs = append(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	}
	for name, data := range map[string][]byte{"manifest.json": raw, "manifest.sig": sig, "platform.pem": certs} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.Created})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("docflow: bundle: %w", err)
	}
	if _, err := s.Store.RecordEvent(context.WithoutCancel(ctx), c.ID, p, "case.bundle_issued", cases.VisStaff, map[string]any{
		"manifest_sha256": hex.EncodeToString(digest[:]), "files": len(m.Files),
	}); err != nil {
		s.Log.Error("record bundle", "case", c.ID, "err", err)
	}
	return m, nil
}
