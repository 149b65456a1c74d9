package cases

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Materials (证据材料, issue 12 §1): the files of a case — the application or complaint, evidence, certificates
// of the IP right, infringement comparisons, appraisal reports. Each has an owner side and a visibility; the
// bytes live in PostgreSQL in chunks (so every node serves them) and the SHA-256 enters the case's hash chain.

// Material visibilities.
const (
	MatShared    = "shared"    // everyone in the case
	MatMediators = "mediators" // the owner's side and the case's mediators; never the other side, nor the court
	MatCourt     = "court"     // the owner's side and the case's court; never the other side, nor the mediators
)

// MaterialKinds are the kinds of material a case file holds.
var MaterialKinds = []string{"application", "evidence", "ip_certificate", "comparison", "appraisal", "other", MatSealImage, MatAuthorityLetter}

// The kinds of a company's seal picture and its letter of authority (issue 13 §8): with both uploaded by (or
// for) a company party, its agreement shows the picture beside its signature (see SealImages).
const (
	MatSealImage       = "seal_image"       // 印章图像: a PNG or JPEG picture of the company's seal
	MatAuthorityLetter = "authority_letter" // 授权委托书 or 法定代表人身份证明书
)

// IPRightKinds are the kinds of IP right a certificate may be of.
var IPRightKinds = []string{"patent", "utility_model", "design", "trademark", "copyright", "layout_design", "plant_variety", "other"}

// MaterialChunkSize is the size of the chunks a material is stored in.
const MaterialChunkSize = 256 << 10

// Material is one uploaded file of a case.
type Material struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"case_id"`
	Kind        string    `json:"kind"`
	Visibility  string    `json:"visibility"`
	OwnerKind   string    `json:"owner_kind"` // account, party or agent
	OwnerID     string    `json:"owner_id"`
	OwnerName   string    `json:"owner_name"`
	OwnerSide   Side      `json:"owner_side,omitempty"` // the side of a party's or agent's upload; "" for staff
	PartyID     string    `json:"party_id,omitempty"`
	Filename    string    `json:"filename"`
	Description string    `json:"description,omitempty"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	IPRight     *IPRight  `json:"ip_right,omitempty"`
	EventSeq    int64     `json:"event_seq"`
	CreatedAt   time.Time `json:"created_at"`
}

// IPRight is the structured description of the IP right a certificate material is of.
type IPRight struct {
	Kind   string `json:"kind"`
	Number string `json:"number"` // 专利号 (e.g. ZL202010123456.7) or 注册号
	Holder string `json:"holder"` // 权利人
}

// NewMaterial is what an uploader says about a file; its bytes come separately.
type NewMaterial struct {
	Filename    string
	Kind        string
	Visibility  string
	Description string
	IPRight     *IPRight
	// Length is the declared length of the body, or -1 when unknown; a declared length over the limit is
	// refused before anything is read.
	Length int64
	// side is the owner side of a material uploaded from a side's private thread (UploadThreadMaterial): that
	// side's parties read it, whoever uploaded it.
	side Side
}

// Valid checks the fields (the filename's own rule is SanitiseFilename's).
func (n NewMaterial) Valid() map[string]string {
	f := map[string]string{}
	if !oneOf(n.Kind, MaterialKinds) {
		f["kind"] = "is one of " + strings.Join(MaterialKinds, ", ")
	}
	switch n.Visibility {
	case MatShared, MatMediators, MatCourt:
	default:
		f["visibility"] = "is shared, mediators or court"
	}
	if (n.Kind == MatSealImage || n.Kind == MatAuthorityLetter) && n.Visibility == MatCourt {
		f["visibility"] = "is shared or mediators: the mediators check a seal image and its letter of authority"
	}
	if len([]rune(n.Description)) > 500 {
		f["description"] = "is at most 500 characters"
	}
	if ip := n.IPRight; ip != nil {
		if !oneOf(ip.Kind, IPRightKinds) {
			f["ip_kind"] = "is one of " + strings.Join(IPRightKinds, ", ")
		}
		if num := strings.TrimSpace(ip.Number); num == "" || len([]rune(num)) > 40 {
			f["ip_number"] = "is the patent or registration number (at most 40 characters)"
		}
		if h := strings.TrimSpace(ip.Holder); h == "" || len([]rune(h)) > 200 {
			f["ip_holder"] = "is the right holder's name (at most 200 characters)"
		}
		if n.Kind != "ip_certificate" {
			f["kind"] = "is ip_certificate when an IP right is described"
		}
	}
	return f
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// MayUploadMaterial reports whether p may add materials to case c: its parties and agents, and its staff (the
// court's clerks and judges, the organisation's admin, its mediators).
func MayUploadMaterial(p Principal, c *Case) bool {
	if p.IsPartySide() {
		return p.CaseID == c.ID && c.Party(p.PartyID) != nil
	}
	return CaseStaff(p, c)
}

// MayReadMaterial reports whether p may see material m of case c (that it exists, and its bytes). The owner
// (the uploading account, or the uploading party's whole side) always may; otherwise shared materials are for
// everyone who sees the case, mediators-only materials for the case's mediators, court-only materials for the
// case's court. The other side never reads a material that is not shared.
func MayReadMaterial(p Principal, c *Case, m Material) bool {
	if p.Kind == KindSystem {
		return true
	}
	if !CanView(p, c) {
		return false
	}
	if p.IsPartySide() {
		return m.Visibility == MatShared || (m.OwnerSide != "" && m.OwnerSide == p.Side)
	}
	if m.Visibility == MatShared || (m.OwnerKind == string(KindAccount) && m.OwnerID == p.ID) {
		return true
	}
	for _, w := range Relations(p, c) {
		switch {
		case m.Visibility == MatMediators && (w == WhoMediator || w == WhoAssignedMediator):
			return true
		case m.Visibility == MatCourt && (w == WhoClerk || w == WhoJudge || w == WhoRequestedCourt):
			return true
		}
	}
	return false
}

// materialEventVis is the trail visibility of a material's upload event: a shared material is news for
// everyone; another is seen by staff and, when a party uploaded it, by that party's side.
func materialEventVis(m Material) string {
	switch {
	case m.Visibility == MatShared:
		return VisAll
	case m.OwnerSide != "":
		return VisSide(m.OwnerSide)
	}
	return VisStaff
}

const materialCols = `id, case_id, kind, visibility, owner_kind, owner_id, owner_name, owner_side, party_id, filename, description,
	content_type, size, sha256, ip_right_kind, ip_right_number, ip_right_holder, COALESCE(event_seq, 0), created_at`

func scanMaterial(row pgx.Row) (*Material, error) {
	var m Material
	var side string
	var sum []byte
	var ipKind, ipNum, ipHolder string
	if err := row.Scan(&m.ID, &m.CaseID, &m.Kind, &m.Visibility, &m.OwnerKind, &m.OwnerID, &m.OwnerName, &side, &m.PartyID, &m.Filename, &m.Description,
		&m.ContentType, &m.Size, &sum, &ipKind, &ipNum, &ipHolder, &m.EventSeq, &m.CreatedAt); err != nil {
		return nil, err
	}
	m.OwnerSide = Side(side)
	m.SHA256 = hex.EncodeToString(sum)
	if ipKind != "" {
		m.IPRight = &IPRight{Kind: ipKind, Number: ipNum, Holder: ipHolder}
	}
	return &m, nil
}

// UploadMaterial stores a file for case caseID from body, streamed in chunks: the type is sniffed from the
// first bytes and must match the name; the whole file is checked for decompression bombs as it passes; the
// per-file and per-case limits hold. Only when everything passed does the material become stored, in the
// transaction that appends material.uploaded with its SHA-256 to the case's chain; otherwise nothing remains.
// No lock is held while the body arrives: the case row is locked only for that last short transaction.
func (s *Store) UploadMaterial(ctx context.Context, p Principal, caseID string, in NewMaterial, body io.Reader, lim MaterialLimits) (*Material, error) {
	lim = lim.withDefaults()
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	name, err := SanitiseFilename(in.Filename)
	if err != nil {
		return nil, err
	}
	if err := Invalid(in.Valid()); err != nil {
		return nil, err
	}
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	if !MayUploadMaterial(p, c) {
		return nil, Errorf(EFORBIDDEN, "only the case's parties, their agents and the case's staff add materials")
	}
	if in.Length == 0 {
		return nil, Errorf(EMaterialEmpty, "the file is empty (0 bytes)")
	}
	if in.Length > lim.MaxFileBytes {
		return nil, Errorf(EMaterialTooLarge, "the file is %s; the largest accepted is %s", describeSize(in.Length), describeSize(lim.MaxFileBytes))
	}
	used, err := s.caseMaterialBytes(ctx, s.pool, caseID)
	if err != nil {
		return nil, err
	}
	if in.Length > 0 && used+in.Length > lim.MaxCaseBytes {
		return nil, caseFull(used, lim)
	}
	// Abandoned uploads (a node that died mid-upload) are cleared by whoever uploads next.
	if _, err := s.pool.Exec(ctx, `DELETE FROM materials WHERE status = 'uploading' AND created_at < $1`, s.now().Add(-time.Hour)); err != nil {
		return nil, dbErr("upload material", err)
	}
	m := Material{CaseID: caseID, Kind: in.Kind, Visibility: in.Visibility, OwnerKind: string(p.Kind), OwnerID: p.ID, OwnerName: p.Name,
		Filename: name, Description: strings.TrimSpace(in.Description), CreatedAt: s.now()}
	if p.IsPartySide() {
		m.OwnerSide, m.PartyID = p.Side, p.PartyID
	} else if in.side != "" {
		m.OwnerSide = in.side
	}
	var ipKind, ipNum, ipHolder string
	if in.IPRight != nil {
		ipKind, ipNum, ipHolder = in.IPRight.Kind, strings.TrimSpace(in.IPRight.Number), strings.TrimSpace(in.IPRight.Holder)
		m.IPRight = &IPRight{ipKind, ipNum, ipHolder}
	}
	if err := s.pool.QueryRow(ctx, `INSERT INTO materials (case_id, status, kind, visibility, owner_kind, owner_id, owner_name, owner_side, party_id, filename,
		description, ip_right_kind, ip_right_number, ip_right_holder, created_at)
		VALUES ($1, 'uploading', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		caseID, m.Kind, m.Visibility, m.OwnerKind, m.OwnerID, m.OwnerName, string(m.OwnerSide), m.PartyID, m.Filename, m.Description,
		ipKind, ipNum, ipHolder, m.CreatedAt).Scan(&m.ID); err != nil {
		return nil, dbErr("upload material", err)
	}
	stored := false
	defer func() {
		if !stored {
			// Nothing of a refused or failed upload remains (the chunks go with the row).
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, err := s.pool.Exec(dctx, `DELETE FROM materials WHERE id = $1 AND status = 'uploading'`, m.ID); err != nil {
				s.log.Error("material: remove a failed upload", "material", m.ID, "err", err)
			}
		}
	}()
	size, sum, ct, chunks, err := s.streamChunks(ctx, m.ID, name, body, lim)
	if err != nil {
		return nil, err
	}
	m.Size, m.SHA256, m.ContentType = size, hex.EncodeToString(sum), ct
	if m.Kind == MatSealImage && ct != "image/png" && ct != "image/jpeg" {
		return nil, Errorf(EMaterialType, "a seal image is a PNG or JPEG picture")
	}
	err = s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !MayUploadMaterial(p, c) { // the uploader may have lost its seat while the file arrived
			return Errorf(EFORBIDDEN, "only the case's parties, their agents and the case's staff add materials")
		}
		used, err := s.caseMaterialBytes(ctx, tx, caseID)
		if err != nil {
			return err
		}
		if used+size > lim.MaxCaseBytes {
			return caseFull(used, lim)
		}
		ev, err := s.appendEvent(ctx, tx, caseID, p, "material.uploaded", materialEventVis(m), map[string]any{
			"material_id": m.ID, "filename": m.Filename, "kind": m.Kind, "visibility": m.Visibility, "content_type": ct,
			"size": size, "sha256": m.SHA256, "owner_side": string(m.OwnerSide), "party_id": m.PartyID,
		}, s.now())
		if err != nil {
			return err
		}
		m.EventSeq = ev.Seq
		tag, err := tx.Exec(ctx, `UPDATE materials SET status = 'stored', content_type = $2, size = $3, sha256 = $4, chunks = $5, event_seq = $6
			WHERE id = $1 AND status = 'uploading'`, m.ID, ct, size, sum, chunks, ev.Seq)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return Errorf(ECONFLICT, "the upload was abandoned; send the file again")
		}
		return nil
	})
	if err != nil {
		return nil, dbErr("upload material", err)
	}
	stored = true
	return &m, nil
}

func caseFull(used int64, lim MaterialLimits) error {
	return Errorf(ECaseFileFull, "the case's materials would exceed %s (%s are stored already)", describeSize(lim.MaxCaseBytes), describeSize(used))
}

func (s *Store) caseMaterialBytes(ctx context.Context, q querier, caseID string) (int64, error) {
	var used int64
	if err := q.QueryRow(ctx, `SELECT COALESCE(sum(size), 0) FROM materials WHERE case_id = $1 AND status = 'stored'`, caseID).Scan(&used); err != nil {
		return 0, dbErr("materials", err)
	}
	return used, nil
}

// streamChunks reads body into chunks of material id, hashing it and passing it through the content check (a
// goroutine reading a pipe, owned by this call and always waited for). Each chunk is its own short statement.
func (s *Store) streamChunks(ctx context.Context, id, name string, body io.Reader, lim MaterialLimits) (size int64, sum []byte, ct string, chunks int, err error) {
	h := sha256.New()
	buf := make([]byte, MaterialChunkSize)
	var pw *io.PipeWriter
	var checked chan error
	defer func() {
		if pw == nil {
			return
		}
		// The check ends when the pipe closes: with the upload's error, or at the end of the file.
		if err != nil {
			pw.CloseWithError(err)
		} else {
			pw.Close()
		}
		if cerr := <-checked; err == nil && cerr != nil {
			err = cerr
		}
	}()
	for {
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			if size+int64(n) > lim.MaxFileBytes {
				return size, nil, "", chunks, Errorf(EMaterialTooLarge, "the file is larger than %s, the largest accepted", describeSize(lim.MaxFileBytes))
			}
			data := buf[:n]
			if chunks == 0 {
				ft, sniffed, serr := SniffMaterial(data, name)
				if serr != nil {
					return 0, nil, "", 0, serr
				}
				ct = sniffed
				var pr *io.PipeReader
				pr, pw = io.Pipe()
				checked = make(chan error, 1)
				go func() {
					cerr := checkContent(ft, pr, lim)
					if cerr != nil {
						pr.CloseWithError(cerr)
					} else {
						_, _ = io.Copy(io.Discard, pr)
					}
					checked <- cerr
				}()
			}
			h.Write(data)
			if _, werr := pw.Write(data); werr != nil {
				var e *Error
				if errors.As(werr, &e) {
					return size, nil, "", chunks, werr
				}
				return size, nil, "", chunks, fmt.Errorf("cases: check material: %w", werr)
			}
			if _, xerr := s.pool.Exec(ctx, `INSERT INTO material_chunks (material_id, seq, data) VALUES ($1, $2, $3)`, id, chunks, data); xerr != nil {
				return size, nil, "", chunks, dbErr("upload material", xerr)
			}
			size += int64(n)
			chunks++
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			if size == 0 {
				return 0, nil, "", 0, Errorf(EMaterialEmpty, "the file is empty (0 bytes)")
			}
			return size, h.Sum(nil), ct, chunks, nil
		case rerr != nil:
			return size, nil, "", chunks, uploadReadError(rerr)
		}
	}
}

// uploadReadError turns a failure to read the request body into a domain error.
func uploadReadError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return Errorf(EINVALID, "the upload was interrupted before the end of the file: send it again")
}

// Materials returns the stored materials of a case that p may see, oldest first.
func (s *Store) Materials(ctx context.Context, p Principal, caseID string) ([]Material, error) {
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+materialCols+` FROM materials WHERE case_id = $1 AND status = 'stored' ORDER BY created_at, id`, caseID)
	if err != nil {
		return nil, dbErr("materials", err)
	}
	defer rows.Close()
	out := []Material{}
	for rows.Next() {
		m, err := scanMaterial(rows)
		if err != nil {
			return nil, dbErr("materials", err)
		}
		if MayReadMaterial(p, c, *m) {
			out = append(out, *m)
		}
	}
	return out, dbErr("materials", rows.Err())
}

// Material returns one stored material if p may read it; otherwise it does not exist for p.
func (s *Store) Material(ctx context.Context, p Principal, id string) (*Material, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "material not found")
	}
	m, err := scanMaterial(s.pool.QueryRow(ctx, `SELECT `+materialCols+` FROM materials WHERE id = $1 AND status = 'stored'`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "material not found")
	}
	if err != nil {
		return nil, dbErr("material", err)
	}
	c, err := s.Case(ctx, m.CaseID)
	if err != nil {
		return nil, err
	}
	if !MayReadMaterial(p, c, *m) {
		return nil, Errorf(ENOTFOUND, "material not found")
	}
	return m, nil
}

// CopyMaterial writes the bytes of material id to w, a few chunks at a time: each batch is read and its rows
// closed before it is written, so no database connection waits on a slow reader.
func (s *Store) CopyMaterial(ctx context.Context, id string, w io.Writer) (int64, error) {
	const batch = 4
	var written int64
	for seq := 0; ; seq += batch {
		rows, err := s.pool.Query(ctx, `SELECT data FROM material_chunks WHERE material_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`, id, seq, batch)
		if err != nil {
			return written, dbErr("material content", err)
		}
		var bufs [][]byte
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return written, dbErr("material content", err)
			}
			bufs = append(bufs, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return written, dbErr("material content", err)
		}
		for _, b := range bufs {
			n, err := w.Write(b)
			written += int64(n)
			if err != nil {
				return written, err
			}
		}
		if len(bufs) < batch {
			return written, nil
		}
	}
}

// SealImages returns, by party ID, the latest seal picture of each party of the case that uploaded (itself or
// by its agent) both a seal image and a letter of authority (issue 13 §8); the agreement prints it beside the
// party's signature. It is read for the document, not for a principal: MayReadMaterial does not apply.
func (s *Store) SealImages(ctx context.Context, caseID string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (m.party_id) m.party_id, m.id FROM materials m
		WHERE m.case_id = $1 AND m.status = 'stored' AND m.kind = 'seal_image' AND m.party_id <> ''
		  AND EXISTS (SELECT 1 FROM materials l WHERE l.case_id = m.case_id AND l.party_id = m.party_id
		              AND l.status = 'stored' AND l.kind = 'authority_letter')
		ORDER BY m.party_id, m.created_at DESC, m.id DESC`, caseID)
	if err != nil {
		return nil, dbErr("seal images", err)
	}
	ids := map[string]string{}
	for rows.Next() {
		var party, id string
		if err := rows.Scan(&party, &id); err != nil {
			rows.Close()
			return nil, dbErr("seal images", err)
		}
		ids[party] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("seal images", err)
	}
	out := map[string][]byte{}
	for party, id := range ids {
		var b bytes.Buffer
		if _, err := s.CopyMaterial(ctx, id, &b); err != nil {
			return nil, err
		}
		out[party] = b.Bytes()
	}
	return out, nil
}
