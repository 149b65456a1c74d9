package cases

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Document kinds.
const (
	DocAgreement  = "agreement"      // 调解协议
	DocRecord     = "session_record" // 调解笔录
	DocCompletion = "completion"     // certificate of completion of another document's signing
	// DocAgreementScan is an agreement signed on paper, uploaded as a PDF scan; it is not signed itself.
	DocAgreementScan = "agreement_scan"
	// DocConfirmationSheet is the sheet on which each party confirms online an agreement signed on paper (notice
	// §10): it names the scan's SHA-256 and has a signature field per party, per mediator and for the seal.
	DocConfirmationSheet = "confirmation_sheet"
)

// Document statuses.
const (
	DocSigning    = "signing"    // collecting signatures
	DocComplete   = "complete"   // every planned signature is in
	DocSuperseded = "superseded" // replaced by a newer draft
)

// DocSigner is one planned signature of a document: the field in the PDF and who is to sign it.
type DocSigner struct {
	Field       string     `json:"field"`
	Role        string     `json:"role"`         // applicant, respondent, mediator, organisation, platform, participant roles…
	SubjectKind SignerKind `json:"subject_kind"` // party (the party or one of its agents signs), account, agent, organisation, platform
	SubjectID   string     `json:"subject_id"`
	Name        string     `json:"name"`
}

// DocVersion is one stored version of a document (without its bytes).
type DocVersion struct {
	Version        int       `json:"version"`
	SHA256         string    `json:"sha256"`
	Size           int       `json:"size"`
	Kind           string    `json:"kind"` // generated | signed
	Field          string    `json:"field,omitempty"`
	SignerKind     string    `json:"signer_kind,omitempty"`
	SignerID       string    `json:"signer_id,omitempty"`
	SignerName     string    `json:"signer_name,omitempty"`
	SignerRole     string    `json:"signer_role,omitempty"`
	CertSHA256     string    `json:"cert_sha256,omitempty"`
	IdentityMethod string    `json:"identity_method,omitempty"`
	EventSeq       int64     `json:"event_seq"`
	CreatedAt      time.Time `json:"created_at"`
}

// Document is a PDF of a case with its planned signers and its versions.
type Document struct {
	ID             string          `json:"id"`
	CaseID         string          `json:"case_id"`
	SessionID      string          `json:"session_id,omitempty"`
	ParentID       string          `json:"parent_id,omitempty"`
	Kind           string          `json:"kind"`
	Title          string          `json:"title"`
	Lang           string          `json:"lang"`
	Status         string          `json:"status"`
	Content        json.RawMessage `json:"content"`
	Signers        []DocSigner     `json:"signers"`
	Ordered        bool            `json:"ordered"`
	Pages          int             `json:"pages"`
	CurrentVersion int             `json:"current_version"`
	CreatedBy      string          `json:"created_by,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	Versions       []DocVersion    `json:"versions"`
}

// Signed returns the version that filled each signed field.
func (d *Document) Signed() map[string]DocVersion {
	out := map[string]DocVersion{}
	for _, v := range d.Versions {
		if v.Kind == "signed" && v.Field != "" {
			out[v.Field] = v
		}
	}
	return out
}

// Signer returns the planned signer of a field, or nil.
func (d *Document) Signer(field string) *DocSigner {
	for i := range d.Signers {
		if d.Signers[i].Field == field {
			return &d.Signers[i]
		}
	}
	return nil
}

// NewID returns a random (version 4) UUID, for records whose ID must be known before they are stored (a
// document prints its own ID).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewDocument is a freshly generated document to store as version 1.
type NewDocument struct {
	ID        string // from NewID: the PDF already prints it
	CaseID    string
	SessionID string
	ParentID  string
	Kind      string
	Title     string
	Lang      string
	Content   any
	Signers   []DocSigner
	Ordered   bool
	Pages     int
	PDF       []byte
	// Status is the document's status at creation: signing (the default) or complete (a document nobody signs,
	// such as an uploaded scan).
	Status string
	// Attachment is stored first in the same transaction (the scan a confirmation sheet names).
	Attachment *NewDocument
}

// agreementKinds are the documents that can carry a case's agreement: a new one supersedes a draft of either kind.
var agreementKinds = []string{DocAgreement, DocConfirmationSheet}

// CreateDocument stores a generated document as version 1 and records it on the case's trail. A new agreement
// (or a new record of the same session) supersedes the earlier draft that is still collecting signatures; a
// completely signed agreement cannot be replaced.
func (s *Store) CreateDocument(ctx context.Context, p Principal, n NewDocument) (*Document, error) {
	if !isUUID(n.ID) || !isUUID(n.CaseID) {
		return nil, Errorf(EINVALID, "document: bad identifier")
	}
	if n.Attachment != nil && (!isUUID(n.Attachment.ID) || n.Attachment.CaseID != n.CaseID) {
		return nil, Errorf(EINVALID, "document: bad attachment")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, n.CaseID); err != nil {
			return err
		}
		now := s.now()
		if n.Kind == DocAgreement || n.Kind == DocRecord || n.Kind == DocConfirmationSheet {
			kinds := []string{n.Kind}
			if n.Kind != DocRecord {
				kinds = agreementKinds
			}
			var complete int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM documents WHERE case_id = $1 AND kind = ANY($2) AND status = 'complete'
				AND ($3 = '' OR session_id::text = $3)`, n.CaseID, kinds, n.SessionID).Scan(&complete); err != nil {
				return err
			}
			if complete > 0 && n.Kind != DocRecord {
				return Errorf(ECONFLICT, "this case's agreement is already signed by everyone; it cannot be replaced")
			}
			rows, err := tx.Query(ctx, `UPDATE documents SET status = 'superseded', updated_at = $4 WHERE case_id = $1 AND kind = ANY($2) AND status = 'signing'
				AND ($3 = '' OR session_id::text = $3) RETURNING id`, n.CaseID, kinds, n.SessionID, now)
			if err != nil {
				return err
			}
			old, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			for _, id := range old {
				if _, err := tx.Exec(ctx, `DELETE FROM pending_signatures WHERE document_id = $1`, id); err != nil {
					return err
				}
				// The scan a superseded confirmation sheet named goes with it.
				if _, err := tx.Exec(ctx, `UPDATE documents SET status = 'superseded', updated_at = $2 WHERE id = (SELECT parent_id FROM documents WHERE id = $1)
					AND kind = 'agreement_scan'`, id, now); err != nil {
					return err
				}
				if _, err := s.appendEvent(ctx, tx, n.CaseID, p, "document.superseded", VisAll, map[string]any{"document_id": id, "by": n.ID}, now); err != nil {
					return err
				}
			}
		}
		if n.Attachment != nil {
			if err := s.insertDocument(ctx, tx, p, *n.Attachment, now); err != nil {
				return err
			}
		}
		return s.insertDocument(ctx, tx, p, n, now)
	})
	if err != nil {
		return nil, dbErr("create document", err)
	}
	return s.Document(ctx, n.ID)
}

// supersedeAgreements marks every agreement, confirmation sheet and scan of a case superseded, on the trail.
func (s *Store) supersedeAgreements(ctx context.Context, tx pgx.Tx, p Principal, caseID string, now time.Time) error {
	rows, err := tx.Query(ctx, `UPDATE documents SET status = 'superseded', updated_at = $3 WHERE case_id = $1 AND kind = ANY($2) AND status <> 'superseded'
		RETURNING id`, caseID, append(slices.Clone(agreementKinds), DocAgreementScan), now)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.Exec(ctx, `DELETE FROM pending_signatures WHERE document_id = $1`, id); err != nil {
			return err
		}
		if _, err := s.appendEvent(ctx, tx, caseID, p, "document.superseded", VisAll, map[string]any{"document_id": id, "reason": "remediation"}, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insertDocument(ctx context.Context, tx pgx.Tx, p Principal, n NewDocument, now time.Time) error {
	content, err := json.Marshal(n.Content)
	if err != nil {
		return fmt.Errorf("cases: document content: %w", err)
	}
	signers, _ := json.Marshal(n.Signers)
	sum := sha256.Sum256(n.PDF)
	status := n.Status
	if status == "" {
		status = DocSigning
	}
	if _, err := tx.Exec(ctx, `INSERT INTO documents (id, case_id, session_id, parent_id, kind, title, lang, status, content, signers, ordered, pages,
		current_version, created_by, created_at, updated_at)
		VALUES ($1, $2, NULLIF($3, '')::uuid, NULLIF($4, '')::uuid, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14, $14)`,
		n.ID, n.CaseID, n.SessionID, n.ParentID, n.Kind, n.Title, n.Lang, status, content, signers, n.Ordered, n.Pages, p.ID, now); err != nil {
		return err
	}
	ev, err := s.appendEvent(ctx, tx, n.CaseID, p, "document.generated", VisAll, map[string]any{
		"document_id": n.ID, "kind": n.Kind, "title": n.Title, "sha256": hex.EncodeToString(sum[:]), "pages": n.Pages, "session_id": n.SessionID, "parent_id": n.ParentID}, now)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO document_versions (document_id, version, sha256, size, pdf, kind, event_seq, created_at)
		VALUES ($1, 1, $2, $3, $4, 'generated', $5, $6)`, n.ID, sum[:], len(n.PDF), n.PDF, ev.Seq, now)
	return err
}

const documentCols = `id, case_id, COALESCE(session_id::text, ''), COALESCE(parent_id::text, ''), kind, title, lang, status, content, signers, ordered,
	pages, current_version, created_by, created_at, updated_at`

func scanDocument(r pgx.Row) (*Document, error) {
	var d Document
	var signers []byte
	err := r.Scan(&d.ID, &d.CaseID, &d.SessionID, &d.ParentID, &d.Kind, &d.Title, &d.Lang, &d.Status, &d.Content, &signers, &d.Ordered,
		&d.Pages, &d.CurrentVersion, &d.CreatedBy, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(signers, &d.Signers); err != nil {
		return nil, fmt.Errorf("signers: %w", err)
	}
	if d.Signers == nil {
		d.Signers = []DocSigner{}
	}
	return &d, nil
}

func (s *Store) versions(ctx context.Context, q querier, id string) ([]DocVersion, error) {
	rows, err := q.Query(ctx, `SELECT version, sha256, size, kind, field, signer_kind, signer_id, signer_name, signer_role, cert_sha256, identity_method, event_seq, created_at
		FROM document_versions WHERE document_id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DocVersion, error) {
		var v DocVersion
		var sum []byte
		err := r.Scan(&v.Version, &sum, &v.Size, &v.Kind, &v.Field, &v.SignerKind, &v.SignerID, &v.SignerName, &v.SignerRole, &v.CertSHA256, &v.IdentityMethod, &v.EventSeq, &v.CreatedAt)
		v.SHA256 = hex.EncodeToString(sum)
		return v, err
	})
}

// Document returns a document with its version list.
func (s *Store) Document(ctx context.Context, id string) (*Document, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "document not found")
	}
	d, err := scanDocument(s.pool.QueryRow(ctx, `SELECT `+documentCols+` FROM documents WHERE id = $1`, id))
	if err != nil {
		return nil, dbErr("document", err)
	}
	if d.Versions, err = s.versions(ctx, s.pool, id); err != nil {
		return nil, dbErr("document", err)
	}
	return d, nil
}

// Documents lists a case's documents, newest first, with their versions.
func (s *Store) Documents(ctx context.Context, caseID string) ([]Document, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+documentCols+` FROM documents WHERE case_id = $1 ORDER BY created_at DESC, id`, caseID)
	if err != nil {
		return nil, dbErr("documents", err)
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Document, error) {
		d, err := scanDocument(r)
		if err != nil {
			return Document{}, err
		}
		return *d, nil
	})
	if err != nil {
		return nil, dbErr("documents", err)
	}
	for i := range docs {
		if docs[i].Versions, err = s.versions(ctx, s.pool, docs[i].ID); err != nil {
			return nil, dbErr("documents", err)
		}
	}
	return docs, nil
}

// DocumentPDF returns the bytes of a version (0 = the current one).
func (s *Store) DocumentPDF(ctx context.Context, id string, version int) ([]byte, int, error) {
	if !isUUID(id) {
		return nil, 0, Errorf(ENOTFOUND, "document not found")
	}
	var pdf []byte
	var v int
	err := s.pool.QueryRow(ctx, `SELECT v.pdf, v.version FROM document_versions v JOIN documents d ON d.id = v.document_id
		WHERE v.document_id = $1 AND v.version = CASE WHEN $2 = 0 THEN d.current_version ELSE $2 END`, id, version).Scan(&pdf, &v)
	if err != nil {
		return nil, 0, dbErr("document version", err)
	}
	return pdf, v, nil
}

// VersionBySHA256 finds a stored version by the SHA-256 of its bytes.
func (s *Store) VersionBySHA256(ctx context.Context, sum []byte) (docID string, version int, found bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT document_id, version FROM document_versions WHERE sha256 = $1 ORDER BY version DESC LIMIT 1`, sum).Scan(&docID, &version)
	if err == pgx.ErrNoRows {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, dbErr("find version", err)
	}
	return docID, version, true, nil
}

// PendingSignature is a prepared two-step signature waiting for the signer's device.
type PendingSignature struct {
	DocumentID  string
	Field       string
	SignerKind  string
	SignerID    string
	BaseVersion int
	State       []byte
	ExpiresAt   time.Time
}

// SavePending stores (or replaces) the pending signature of a field.
func (s *Store) SavePending(ctx context.Context, ps PendingSignature) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO pending_signatures (document_id, field, signer_kind, signer_id, base_version, state, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (document_id, field) DO UPDATE SET signer_kind = EXCLUDED.signer_kind, signer_id = EXCLUDED.signer_id,
			base_version = EXCLUDED.base_version, state = EXCLUDED.state, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
		ps.DocumentID, ps.Field, ps.SignerKind, ps.SignerID, ps.BaseVersion, ps.State, s.now(), ps.ExpiresAt)
	return dbErr("save pending signature", err)
}

// Pending returns the pending signature of a field, or ENOTFOUND (also when it expired).
func (s *Store) Pending(ctx context.Context, docID, field string) (*PendingSignature, error) {
	ps := &PendingSignature{DocumentID: docID, Field: field}
	err := s.pool.QueryRow(ctx, `SELECT signer_kind, signer_id, base_version, state, expires_at FROM pending_signatures WHERE document_id = $1 AND field = $2`,
		docID, field).Scan(&ps.SignerKind, &ps.SignerID, &ps.BaseVersion, &ps.State, &ps.ExpiresAt)
	if err == pgx.ErrNoRows || (err == nil && s.now().After(ps.ExpiresAt)) {
		return nil, Errorf(ENOTFOUND, "no prepared signature for field %s: prepare it first (prepared signatures expire after 10 minutes)", field)
	}
	if err != nil {
		return nil, dbErr("pending signature", err)
	}
	return ps, nil
}

// DeletePending removes a pending signature.
func (s *Store) DeletePending(ctx context.Context, docID, field string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM pending_signatures WHERE document_id = $1 AND field = $2`, docID, field)
	return dbErr("delete pending signature", err)
}

// NewVersion is what a signing step produced.
type NewVersion struct {
	PDF            []byte
	Field          string
	SignerKind     string
	SignerID       string
	SignerName     string
	SignerRole     string
	CertSHA256     string
	IdentityMethod string
	EventType      string // document.signed, document.sealed, document.court_signed
	Actor          Principal
}

// AppendVersion adds a version to a document under a lock: it locks the case and the document, reads the current
// version's bytes, and calls sign with them; sign returns the new version (or an error, which changes nothing).
// Two signers finishing at once are serialised here and the later one sees the earlier one's bytes, so no update
// is lost. The document becomes complete when every planned field is signed. What the signature implies commits
// in the same transaction: the last party's signature of an agreement makes it effective, dated at that
// signature (OMR Art. 19), and a complete document gets a durable job for its certificate of completion.
func (s *Store) AppendVersion(ctx context.Context, docID string, sign func(d *Document, current []byte) (*NewVersion, error)) (*Document, *Event, error) {
	d, err := s.Document(ctx, docID)
	if err != nil {
		return nil, nil, err
	}
	var ev *Event
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		c, err := loadCase(ctx, tx, d.CaseID, true)
		if err != nil {
			return err
		}
		locked, current, err := s.lockDocument(ctx, tx, docID)
		if err != nil {
			return err
		}
		nv, err := sign(locked, current)
		if err != nil {
			return err
		}
		if ev, err = s.appendVersionTx(ctx, tx, locked, nv); err != nil {
			return err
		}
		return s.afterSignatureTx(ctx, tx, c, locked)
	})
	if err != nil {
		return nil, nil, dbErr("sign document", err)
	}
	d, err = s.Document(ctx, docID)
	return d, ev, err
}

// lockDocument locks a document row (its case is already locked) and returns it with its current bytes.
func (s *Store) lockDocument(ctx context.Context, tx pgx.Tx, docID string) (*Document, []byte, error) {
	locked, err := scanDocument(tx.QueryRow(ctx, `SELECT `+documentCols+` FROM documents WHERE id = $1 FOR UPDATE`, docID))
	if err != nil {
		return nil, nil, err
	}
	if locked.Versions, err = s.versions(ctx, tx, docID); err != nil {
		return nil, nil, err
	}
	if locked.Status == DocSuperseded {
		return nil, nil, Errorf(ECONFLICT, "this document was replaced by a newer draft")
	}
	var current []byte
	if err := tx.QueryRow(ctx, `SELECT pdf FROM document_versions WHERE document_id = $1 AND version = $2`, docID, locked.CurrentVersion).Scan(&current); err != nil {
		return nil, nil, err
	}
	return locked, current, nil
}

// appendVersionTx stores a signed version of the locked document and updates locked to match (its versions, current
// version and status).
func (s *Store) appendVersionTx(ctx context.Context, tx pgx.Tx, locked *Document, nv *NewVersion) (*Event, error) {
	now := s.now()
	sum := sha256.Sum256(nv.PDF)
	next := locked.CurrentVersion + 1
	ev, err := s.appendEvent(ctx, tx, locked.CaseID, nv.Actor, nv.EventType, VisAll, map[string]any{
		"document_id": locked.ID, "kind": locked.Kind, "version": next, "field": nv.Field, "signer": nv.SignerName, "role": nv.SignerRole,
		"cert_sha256": nv.CertSHA256, "sha256": hex.EncodeToString(sum[:]), "identity_method": nv.IdentityMethod}, now)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO document_versions (document_id, version, sha256, size, pdf, kind, field, signer_kind, signer_id, signer_name,
		signer_role, cert_sha256, identity_method, event_seq, created_at) VALUES ($1, $2, $3, $4, $5, 'signed', $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		locked.ID, next, sum[:], len(nv.PDF), nv.PDF, nv.Field, nv.SignerKind, nv.SignerID, nv.SignerName, nv.SignerRole, nv.CertSHA256, nv.IdentityMethod, ev.Seq, now); err != nil {
		return nil, err
	}
	locked.Versions = append(locked.Versions, DocVersion{Version: next, SHA256: hex.EncodeToString(sum[:]), Size: len(nv.PDF), Kind: "signed", Field: nv.Field,
		SignerKind: nv.SignerKind, SignerID: nv.SignerID, SignerName: nv.SignerName, SignerRole: nv.SignerRole, CertSHA256: nv.CertSHA256,
		IdentityMethod: nv.IdentityMethod, EventSeq: ev.Seq, CreatedAt: now})
	signed := locked.Signed()
	status := DocComplete
	for _, sg := range locked.Signers {
		if _, ok := signed[sg.Field]; !ok {
			status = locked.Status
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE documents SET current_version = $2, status = $3, updated_at = $4 WHERE id = $1`, locked.ID, next, status, now); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM pending_signatures WHERE document_id = $1 AND field = $2`, locked.ID, nv.Field); err != nil {
		return nil, err
	}
	locked.CurrentVersion, locked.UpdatedAt = next, now
	if status == DocComplete && locked.Status != DocComplete && locked.Kind != DocCompletion {
		if err := enqueueJob(ctx, tx, JobCompletion, locked, now); err != nil {
			return nil, err
		}
	}
	locked.Status = status
	return ev, nil
}

// afterSignatureTx applies, in the signature's transaction, what it implies for the case (c, locked): the last
// party's signature of the case's agreement makes the agreement effective.
func (s *Store) afterSignatureTx(ctx context.Context, tx pgx.Tx, c *Case, d *Document) error {
	if !d.IsAgreement() || c.State != StateSigning || d.PartiesSignedAt() == nil {
		return nil
	}
	env := Env{Now: s.now(), Cal: s.Cal, Agreement: FactsOf(d)}
	before := cloneCase(c)
	out, err := Apply(c, ActAgreementEffective, System, Params{}, env)
	if err != nil {
		return err
	}
	if err := saveCase(ctx, tx, before, c, env.Now); err != nil {
		return err
	}
	_, err = s.appendEvent(ctx, tx, c.ID, System, out.EventType, out.Visibility, out.Data, env.Now)
	return err
}

// agreementFacts returns the facts of the case's current agreement (or confirmation sheet), or nil when there is
// none.
func (s *Store) agreementFacts(ctx context.Context, tx pgx.Tx, caseID string) (*AgreementFacts, error) {
	d, err := scanDocument(tx.QueryRow(ctx, `SELECT `+documentCols+` FROM documents WHERE case_id = $1 AND kind = ANY($2) AND status <> 'superseded'
		ORDER BY created_at DESC, id LIMIT 1`, caseID, agreementKinds))
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.Versions, err = s.versions(ctx, tx, d.ID); err != nil {
		return nil, err
	}
	return FactsOf(d), nil
}

// ConfirmAgreement takes the judge's confirm action and adds the court's signature to the agreement in ONE
// transaction: sign gets the locked agreement and its current bytes and returns the signed version; if it fails,
// the case is not confirmed (and nothing is stored).
func (s *Store) ConfirmAgreement(ctx context.Context, p Principal, caseID string, in Params, sign func(c *Case, d *Document, current []byte) (*NewVersion, error)) (*ActResult, error) {
	res := &ActResult{}
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		env, err := s.env(ctx, tx, c, in)
		if err != nil {
			return err
		}
		if env.Agreement, err = s.agreementFacts(ctx, tx, c.ID); err != nil {
			return err
		}
		before := cloneCase(c)
		out, err := Apply(c, ActConfirm, p, in, env)
		if err != nil {
			return err
		}
		locked, current, err := s.lockDocument(ctx, tx, env.Agreement.DocumentID)
		if err != nil {
			return err
		}
		if _, done := locked.Signed()[CourtField]; !done {
			nv, err := sign(before, locked, current)
			if err != nil {
				return fmt.Errorf("court signature: %w", err)
			}
			if _, err := s.appendVersionTx(ctx, tx, locked, nv); err != nil {
				return err
			}
		}
		out.Data["document_id"] = locked.ID
		if err := saveCase(ctx, tx, before, c, env.Now); err != nil {
			return err
		}
		ev, err := s.appendEvent(ctx, tx, c.ID, p, out.EventType, out.Visibility, out.Data, env.Now)
		if err != nil {
			return err
		}
		fresh, err := loadCase(ctx, tx, c.ID, false)
		if err != nil {
			return err
		}
		res.Case, res.Event, res.Notify = fresh, ev, out.Notify
		return nil
	})
	if err != nil {
		return nil, dbErr("confirm", err)
	}
	return res, nil
}

// SignerCertificate returns the certificate issued for a signer's device key in a case, if one was.
func (s *Store) SignerCertificate(ctx context.Context, caseID, kind, id, keySHA string) ([]byte, bool, error) {
	var der []byte
	err := s.pool.QueryRow(ctx, `SELECT cert FROM signer_certificates WHERE case_id = $1 AND signer_kind = $2 AND signer_id = $3 AND key_sha256 = $4`,
		caseID, kind, id, keySHA).Scan(&der)
	if err == pgx.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, dbErr("signer certificate", err)
	}
	return der, true, nil
}

// SaveSignerCertificate keeps a certificate issued for a signer's device key and records the issuance.
func (s *Store) SaveSignerCertificate(ctx context.Context, caseID string, actor Principal, kind, id, keySHA string, der []byte, certSHA string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, caseID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO signer_certificates (case_id, signer_kind, signer_id, key_sha256, cert, created_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT DO NOTHING`, caseID, kind, id, keySHA, der, s.now())
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = s.appendEvent(ctx, tx, caseID, actor, "certificate.issued", VisAll, map[string]any{"signer": actor.Name, "key_sha256": keySHA, "cert_sha256": certSHA}, s.now())
		return err
	})
	return dbErr("save signer certificate", err)
}

// IdentityMethod returns the method of the latest passed identity check of a participant in a case, or "".
func (s *Store) IdentityMethod(ctx context.Context, caseID, participantID string) (string, error) {
	var m string
	err := s.pool.QueryRow(ctx, `SELECT method FROM identity_checks WHERE case_id = $1 AND participant_id = $2 AND result = 'passed' ORDER BY at DESC LIMIT 1`,
		caseID, participantID).Scan(&m)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	return m, dbErr("identity method", err)
}
