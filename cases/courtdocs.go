package cases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// The court's documents (issue 12 §3): the ruling on judicial confirmation and the mediation statement of a case
// entrusted after filing. Each records one decision of the court (a trail event) and is made once for it: the
// stored PDF, its SHA-256 in the trail event that issued it, and every later download the same bytes.

// Court document kinds.
const (
	CourtRuling    = "ruling"              // 民事裁定书: the agreement confirmed, or the application rejected
	CourtStatement = "mediation_statement" // 民事调解书 (委托 cases)
)

// courtDecisions are the trail events each kind of court document records.
var courtDecisions = map[string][]string{
	CourtRuling:    {"case.confirm", "case.reject_confirmation"},
	CourtStatement: {"case.issue_statement"},
}

// CourtDecision returns the latest event of evs that a court document of kind records (nil: none).
func CourtDecision(evs []Event, kind string) *Event {
	types := courtDecisions[kind]
	for i := len(evs) - 1; i >= 0; i-- {
		for _, t := range types {
			if evs[i].Type == t {
				return &evs[i]
			}
		}
	}
	return nil
}

// CourtDocumentIssued is the trail event of each kind's issue.
func CourtDocumentIssued(kind string) string {
	if kind == CourtStatement {
		return "case.statement_issued"
	}
	return "case.ruling_issued"
}

// CourtDocument is a stored court document (without its bytes).
type CourtDocument struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"case_id"`
	Kind        string    `json:"kind"`         // ruling or mediation_statement
	DecisionSeq int64     `json:"decision_seq"` // the trail event of the decision it records
	Title       string    `json:"title"`
	SHA256      string    `json:"sha256"`
	Size        int       `json:"size"`
	EventSeq    int64     `json:"event_seq"` // the trail event that issued it
	CreatedAt   time.Time `json:"created_at"`
}

// NewCourtDocument is a freshly made court document to store.
type NewCourtDocument struct {
	ID          string // from NewID: the PDF prints it
	CaseID      string
	Kind        string
	DecisionSeq int64
	Title       string
	PDF         []byte
	Data        map[string]any // more for the trail event (confirmed …)
}

const courtDocCols = `id, case_id, kind, decision_seq, title, sha256, size, event_seq, created_at`

func scanCourtDocument(row pgx.Row) (*CourtDocument, error) {
	var d CourtDocument
	var sum []byte
	if err := row.Scan(&d.ID, &d.CaseID, &d.Kind, &d.DecisionSeq, &d.Title, &sum, &d.Size, &d.EventSeq, &d.CreatedAt); err != nil {
		return nil, err
	}
	d.SHA256 = hex.EncodeToString(sum)
	return &d, nil
}

// CourtDocumentOf returns the stored document of a decision and its bytes; ENOTFOUND when none is stored yet.
func (s *Store) CourtDocumentOf(ctx context.Context, caseID string, decisionSeq int64) (*CourtDocument, []byte, error) {
	if !isUUID(caseID) {
		return nil, nil, Errorf(ENOTFOUND, "case not found")
	}
	return s.courtDocument(ctx, s.pool, `case_id = $1 AND decision_seq = $2`, caseID, decisionSeq)
}

// CourtDocumentByID returns a stored court document and its bytes.
func (s *Store) CourtDocumentByID(ctx context.Context, id string) (*CourtDocument, []byte, error) {
	if !isUUID(id) {
		return nil, nil, Errorf(ENOTFOUND, "court document not found")
	}
	return s.courtDocument(ctx, s.pool, `id = $1`, id)
}

// CourtDocumentBySHA256 returns the stored court document with this SHA-256 (found false: none).
func (s *Store) CourtDocumentBySHA256(ctx context.Context, sum []byte) (*CourtDocument, bool, error) {
	d, _, err := s.courtDocument(ctx, s.pool, `sha256 = $1`, sum)
	if ErrorCode(err) == ENOTFOUND {
		return nil, false, nil
	}
	return d, err == nil, err
}

func (s *Store) courtDocument(ctx context.Context, q querier, where string, args ...any) (*CourtDocument, []byte, error) {
	var pdf []byte
	row := q.QueryRow(ctx, `SELECT `+courtDocCols+`, pdf FROM court_documents WHERE `+where+` ORDER BY created_at LIMIT 1`, args...)
	var d CourtDocument
	var sum []byte
	err := row.Scan(&d.ID, &d.CaseID, &d.Kind, &d.DecisionSeq, &d.Title, &sum, &d.Size, &d.EventSeq, &d.CreatedAt, &pdf)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, Errorf(ENOTFOUND, "court document not found")
	}
	if err != nil {
		return nil, nil, dbErr("court document", err)
	}
	d.SHA256 = hex.EncodeToString(sum)
	return &d, pdf, nil
}

// StoreCourtDocument stores the document of a decision and appends its issue (id, kind, SHA-256) to the case's
// trail in the same transaction. When one is stored already for that decision (another node made it first), the
// stored one is returned and n is discarded: created reports which happened.
func (s *Store) StoreCourtDocument(ctx context.Context, n NewCourtDocument) (d *CourtDocument, pdf []byte, created bool, err error) {
	if !isUUID(n.CaseID) || !isUUID(n.ID) {
		return nil, nil, false, Errorf(ENOTFOUND, "case not found")
	}
	if _, ok := courtDecisions[n.Kind]; !ok || len(n.PDF) == 0 {
		return nil, nil, false, Errorf(EINVALID, "unknown court document kind %q", n.Kind)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, n.CaseID); err != nil {
			return err
		}
		var err error
		d, pdf, err = s.courtDocument(ctx, tx, `case_id = $1 AND decision_seq = $2`, n.CaseID, n.DecisionSeq)
		if err == nil {
			return nil // made by someone else first
		}
		if ErrorCode(err) != ENOTFOUND {
			return err
		}
		sum := sha256.Sum256(n.PDF)
		data := map[string]any{}
		for k, v := range n.Data {
			data[k] = v
		}
		data["document_id"], data["kind"], data["sha256"], data["size"], data["decision_seq"] = n.ID, n.Kind, hex.EncodeToString(sum[:]), len(n.PDF), n.DecisionSeq
		if n.Kind == CourtRuling {
			data["ruling_id"] = n.ID // the name the trail used before rulings were stored
		}
		now := s.now()
		ev, err := s.appendEvent(ctx, tx, n.CaseID, System, CourtDocumentIssued(n.Kind), VisAll, data, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO court_documents (id, case_id, kind, decision_seq, title, sha256, size, pdf, event_seq, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, n.ID, n.CaseID, n.Kind, n.DecisionSeq, n.Title, sum[:], len(n.PDF), n.PDF, ev.Seq, now); err != nil {
			return err
		}
		d, pdf, created = &CourtDocument{ID: n.ID, CaseID: n.CaseID, Kind: n.Kind, DecisionSeq: n.DecisionSeq, Title: n.Title, SHA256: hex.EncodeToString(sum[:]),
			Size: len(n.PDF), EventSeq: ev.Seq, CreatedAt: now}, n.PDF, true
		return nil
	})
	if err != nil {
		return nil, nil, false, dbErr("store court document", err)
	}
	return d, pdf, created, nil
}

// CourtDocuments returns the stored court documents of a case, oldest first.
func (s *Store) CourtDocuments(ctx context.Context, caseID string) ([]CourtDocument, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+courtDocCols+` FROM court_documents WHERE case_id = $1 ORDER BY decision_seq`, caseID)
	if err != nil {
		return nil, dbErr("court documents", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CourtDocument, error) {
		d, err := scanCourtDocument(r)
		if err != nil {
			return CourtDocument{}, err
		}
		return *d, nil
	})
	return out, dbErr("court documents", err)
}

// courtDocumentSweepWindow is how far back the sweeper looks for decisions without their document: the recovery
// of a node that died after a decision is a matter of minutes, and an older decision without one (taken before
// documents were stored) gets it when it is first asked for.
const courtDocumentSweepWindow = 30 * 24 * time.Hour

// CasesAwaitingCourtDocuments returns up to limit cases whose court decided (confirmed, rejected, or issued a
// statement) in the last 30 days with no document stored for the decision yet: a node died between the decision
// and the document, or could not make it then. The job sweeper makes them.
func (s *Store) CasesAwaitingCourtDocuments(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.id FROM cases c
		WHERE c.state IN ('confirmed', 'confirmation_rejected', 'statement_issued') AND c.decided_at > $2
		  AND NOT EXISTS (SELECT 1 FROM court_documents d WHERE d.case_id = c.id AND d.decision_seq =
		      (SELECT max(e.seq) FROM case_events e WHERE e.case_id = c.id AND e.type IN ('case.confirm', 'case.reject_confirmation', 'case.issue_statement')))
		ORDER BY c.decided_at LIMIT $1`, limit, s.now().Add(-courtDocumentSweepWindow))
	if err != nil {
		return nil, dbErr("cases awaiting court documents", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, dbErr("cases awaiting court documents", err)
}

// CourtDocumentCheck is one stored court document checked against its trail event.
type CourtDocumentCheck struct {
	ID      string
	Kind    string
	Stored  string // hex SHA-256 of the stored bytes, computed now
	Trail   string // the SHA-256 its issuing event holds
	Matches bool
}

// CheckCourtDocuments recomputes the SHA-256 of each stored court document of a case and compares it with the
// hash in the event that issued it. Verify the chain first (VerifyChain): then the events are what was written.
func (s *Store) CheckCourtDocuments(ctx context.Context, caseID string) ([]CourtDocumentCheck, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	rows, err := s.pool.Query(ctx, `SELECT d.id, d.kind, encode(sha256(d.pdf), 'hex'), COALESCE(e.data->>'sha256', ''), COALESCE(e.data->>'document_id', '')
		FROM court_documents d LEFT JOIN case_events e ON e.case_id = d.case_id AND e.seq = d.event_seq
		WHERE d.case_id = $1 ORDER BY d.decision_seq`, caseID)
	if err != nil {
		return nil, dbErr("check court documents", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CourtDocumentCheck, error) {
		var c CourtDocumentCheck
		var docID string
		err := r.Scan(&c.ID, &c.Kind, &c.Stored, &c.Trail, &docID)
		c.Matches = c.Trail != "" && c.Stored == c.Trail && docID == c.ID
		return c, err
	})
}
