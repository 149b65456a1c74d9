package cases

import (
	"context"
	"encoding/hex"
	"io"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Attachments in messages are materials (issue 12 §4 with §1): a message of a case thread may carry materials of
// its case — one the author can already read, or a file uploaded from the thread, whose visibility follows the
// thread. The message's hash chains each attachment's material id and SHA-256, so a swapped file shows.

// MaxAttachments is the most materials one message carries.
const MaxAttachments = 10

// EAttachmentHidden refuses an attachment that some reader of the thread could not read (422).
const EAttachmentHidden = "attachment_hidden"

// Attachment is one material attached to a message, as a reader who may read the material sees it.
type Attachment struct {
	MaterialID  string `json:"material_id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// ThreadMaterial is the visibility and owner side of a material uploaded from thread th: the joint thread's are
// shared; a side's private thread's are for the mediators, owned by that side, so that its parties read them
// whoever uploaded them and the other side never does.
func ThreadMaterial(th Thread) (visibility string, side Side) {
	if th == ThreadJoint {
		return MatShared, ""
	}
	return MatMediators, Side(th)
}

// MayAttach says why p may not attach material m to a message in thread th of case c (nil: it may). The author
// must be able to read the material (else, for it, the material does not exist), and every reader of the thread
// must be able to as well: in the joint thread only shared materials, in a side's thread shared ones and the
// mediators-only materials of that side. A restricted material is never handed to a thread whose readers it is
// hidden from (the other side, the court); upload it from the thread instead.
func MayAttach(p Principal, c *Case, th Thread, m Material) error {
	if m.CaseID != c.ID || !MayReadMaterial(p, c, m) {
		return &Error{Code: ENOTFOUND, Message: "material not found", Fields: map[string]string{"attachments": "names a material of this case you can see"}}
	}
	vis, side := ThreadMaterial(th)
	if m.Visibility == MatShared || (m.Visibility == vis && m.OwnerSide == side) {
		return nil
	}
	return Errorf(EAttachmentHidden, "this material is not visible to everyone who reads this thread; upload the file from the thread instead")
}

// checkAttachmentIDs refuses a list of attachments that is too long, repeats a material or names no material.
func checkAttachmentIDs(ids []string) error {
	if len(ids) > MaxAttachments {
		return Invalid(map[string]string{"attachments": "at most 10 materials"})
	}
	for i, id := range ids {
		if !isUUID(id) {
			return &Error{Code: ENOTFOUND, Message: "material not found", Fields: map[string]string{"attachments": "names a material of this case you can see"}}
		}
		if slices.Contains(ids[:i], id) {
			return Invalid(map[string]string{"attachments": "names each material once"})
		}
	}
	return nil
}

// attachMaterials loads the materials ids of case c for p's message in thread th and checks each may be attached.
func attachMaterials(ctx context.Context, tx pgx.Tx, p Principal, c *Case, th Thread, ids []string) ([]Attachment, error) {
	out := make([]Attachment, 0, len(ids))
	for _, id := range ids {
		m, err := scanMaterial(tx.QueryRow(ctx, `SELECT `+materialCols+` FROM materials WHERE id = $1 AND status = 'stored'`, id))
		if err == pgx.ErrNoRows {
			return nil, &Error{Code: ENOTFOUND, Message: "material not found", Fields: map[string]string{"attachments": "names a material of this case you can see"}}
		}
		if err != nil {
			return nil, err
		}
		if err := MayAttach(p, c, th, *m); err != nil {
			return nil, err
		}
		out = append(out, Attachment{MaterialID: m.ID, Filename: m.Filename, ContentType: m.ContentType, Size: m.Size, SHA256: m.SHA256})
	}
	return out, nil
}

// insertAttachments stores a message's attachments in their order.
func insertAttachments(ctx context.Context, tx pgx.Tx, messageID int64, as []Attachment) error {
	for i, a := range as {
		sum, _ := hex.DecodeString(a.SHA256)
		if _, err := tx.Exec(ctx, `INSERT INTO case_message_attachments (message_id, position, material_id, sha256) VALUES ($1, $2, $3, $4)`,
			messageID, i, a.MaterialID, sum); err != nil {
			return err
		}
	}
	return nil
}

// storedAttachment is an attachment row with its material, for readers and for verification.
type storedAttachment struct {
	messageID int64
	sha256    []byte // as chained when the message was written
	material  Material
}

// messageAttachments loads the attachments of the messages of case caseID with ids from..to (inclusive), in order.
func messageAttachments(ctx context.Context, q querier, caseID string, from, to int64) (map[int64][]storedAttachment, error) {
	rows, err := q.Query(ctx, `SELECT a.message_id, a.sha256, `+materialColsM+`
		FROM case_message_attachments a JOIN case_messages cm ON cm.id = a.message_id JOIN materials m ON m.id = a.material_id
		WHERE cm.case_id = $1 AND a.message_id BETWEEN $2 AND $3 ORDER BY a.message_id, a.position`, caseID, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]storedAttachment{}
	for rows.Next() {
		var sa storedAttachment
		m, err := scanMaterial(prefixed{rows, []any{&sa.messageID, &sa.sha256}})
		if err != nil {
			return nil, err
		}
		sa.material = *m
		out[sa.messageID] = append(out[sa.messageID], sa)
	}
	return out, rows.Err()
}

// materialColsM is materialCols of the materials table joined as m.
const materialColsM = `m.id, m.case_id, m.kind, m.visibility, m.owner_kind, m.owner_id, m.owner_name, m.owner_side, m.party_id, m.filename,
	m.description, m.content_type, m.size, m.sha256, m.ip_right_kind, m.ip_right_number, m.ip_right_holder, COALESCE(m.event_seq, 0), m.created_at`

// prefixed scans some leading columns into pre, then the rest into what its caller asks for (scanMaterial).
type prefixed struct {
	row pgx.Row
	pre []any
}

func (r prefixed) Scan(dest ...any) error { return r.row.Scan(append(r.pre, dest...)...) }

// UploadThreadMaterial stores a file uploaded from thread th of case caseID as a material whose visibility follows
// the thread (ThreadMaterial), for p to attach to its next message there; only a writer of the thread may.
func (s *Store) UploadThreadMaterial(ctx context.Context, p Principal, caseID string, th Thread, in NewMaterial, body io.Reader, lim MaterialLimits) (*Material, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	if err := MayWriteThread(p, c, th); err != nil {
		return nil, err
	}
	in.Visibility, in.side = ThreadMaterial(th)
	return s.UploadMaterial(ctx, p, caseID, in, body, lim)
}
