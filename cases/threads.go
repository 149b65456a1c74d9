package cases

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Text and asynchronous mediation (OMR Art. 18: a party may take part by video, voice or text): every case has
// message threads outside its sessions. The joint thread is read by everyone in the case; each side has a
// private thread with the case's mediators — a standing caucus, under the caucus rules: never the other side,
// never the court, never the organisation's admin.

// Thread names a case's message thread.
type Thread string

// The threads of a case.
const (
	ThreadJoint      Thread = "joint"
	ThreadApplicant  Thread = Thread(Applicant)
	ThreadRespondent Thread = Thread(Respondent)
)

// Threads lists every thread of a case, joint first.
var Threads = []Thread{ThreadJoint, ThreadApplicant, ThreadRespondent}

// MaxThreadMessage is the longest message, in characters.
const MaxThreadMessage = 4000

// ThreadNoticeInterval is how often at most one reader is told by SMS of new messages in one thread.
const ThreadNoticeInterval = time.Hour

// ParseThread checks a thread name from a request.
func ParseThread(s string) (Thread, error) {
	if th := Thread(s); slices.Contains(Threads, th) {
		return th, nil
	}
	return "", &Error{Code: EINVALID, Message: "unknown thread", Fields: map[string]string{"thread": "must be joint, applicant or respondent"}}
}

// MayReadThread reports whether p may read thread th of case c: the joint thread is everyone in the case (its
// parties and agents, its mediators, its court's clerks and judges, its organisation's admin); a side's thread
// is that side's parties and agents and the mediators who accepted the case.
func MayReadThread(p Principal, c *Case, th Thread) bool {
	rel := Relations(p, c)
	switch th {
	case ThreadJoint:
		return slices.Contains(rel, WhoParty) || CaseStaff(p, c)
	case ThreadApplicant, ThreadRespondent:
		if p.IsPartySide() {
			party := c.Party(p.PartyID)
			return slices.Contains(rel, WhoParty) && party != nil && Thread(party.Side) == th
		}
		return slices.Contains(rel, WhoMediator)
	}
	return false
}

// MayWriteThread says why p may not write in thread th of case c now (nil: it may): a reader of the thread, and
// only while mediation is not over.
func MayWriteThread(p Principal, c *Case, th Thread) error {
	if !MayReadThread(p, c, th) {
		return Errorf(EFORBIDDEN, "only the people of this thread can write in it")
	}
	if c.State.Ended() {
		return Errorf(ECONFLICT, "mediation has ended: the case's threads can be read but not written")
	}
	return nil
}

// ThreadMessage is one message of a case thread.
type ThreadMessage struct {
	ID         int64  `json:"id"`
	Thread     Thread `json:"thread"`
	AuthorKind string `json:"author_kind"`
	AuthorID   string `json:"author_id"`
	AuthorName string `json:"author_name"`
	AuthorRole string `json:"author_role"`           // a staff role, or party / agent
	AuthorSide Side   `json:"author_side,omitempty"` // parties and agents
	Body       string `json:"body"`
	// Attachments are the materials the message carries that the reader may read (all of them are chained).
	Attachments []Attachment `json:"attachments,omitempty"`
	At          time.Time    `json:"at"`
	Hash        string       `json:"hash"` // SHA-256 (hex) chaining this message to the one before it in the thread
}

// ThreadSummary is one thread as a reader sees it in the list.
type ThreadSummary struct {
	Thread   Thread     `json:"thread"`
	Messages int        `json:"messages"`
	Unread   int        `json:"unread"`
	LastAt   *time.Time `json:"last_at,omitempty"`
	Writable bool       `json:"writable"`
}

// ThreadNotice is an SMS to send about a new message: to a party or agent of the thread who was not told of
// this thread in the last ThreadNoticeInterval.
type ThreadNotice struct {
	To         string `json:"-"`
	Name       string `json:"name"`
	CaseNumber string `json:"case_number"`
	Thread     Thread `json:"thread"`
}

// ThreadPost is what posting a message did.
type ThreadPost struct {
	Message ThreadMessage
	Notices []ThreadNotice
}

// checkMessageBody trims body and refuses what cannot be a message.
func checkMessageBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	bad := func(reason string) error {
		return &Error{Code: EINVALID, Message: "the message cannot be sent", Fields: map[string]string{"body": reason}}
	}
	switch {
	case !utf8.ValidString(body):
		return "", bad("is not valid text")
	case body == "":
		return "", bad("is required")
	case utf8.RuneCountInString(body) > MaxThreadMessage:
		return "", bad(fmt.Sprintf("must be at most %d characters", MaxThreadMessage))
	}
	for _, r := range body {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return "", bad("contains control characters")
		}
	}
	return body, nil
}

// messageHash chains a message to the previous one of its thread: SHA-256 over the previous hash and every
// field of the message, each with its length.
func messageHash(prev []byte, caseID string, m *ThreadMessage) []byte {
	h := sha256.New()
	put := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put(prev)
	for _, f := range []string{caseID, string(m.Thread), m.At.UTC().Format(time.RFC3339Nano), m.AuthorKind, m.AuthorID, m.AuthorName, m.AuthorRole, string(m.AuthorSide), m.Body} {
		put([]byte(f))
	}
	// A message's attachments (none before attachments existed, so older hashes stand): each material's id and
	// SHA-256 as attached.
	if len(m.Attachments) > 0 {
		put([]byte("attachments"))
		for _, a := range m.Attachments {
			put([]byte(a.MaterialID))
			put([]byte(a.SHA256))
		}
	}
	return h.Sum(nil)
}

// authorOf describes p as a message's author.
func authorOf(p Principal, c *Case) (role string, side Side) {
	switch p.Kind {
	case KindParty, KindAgent:
		if party := c.Party(p.PartyID); party != nil {
			side = party.Side
		}
		return string(p.Kind), side
	}
	return string(p.Role), ""
}

// PostThreadMessage adds p's message to thread th of case c, with the materials attachments names (MayAttach),
// and says who is to be told by SMS. A message with attachments may have no text.
func (s *Store) PostThreadMessage(ctx context.Context, p Principal, caseID string, th Thread, body string, attachments ...string) (*ThreadPost, error) {
	if err := checkAttachmentIDs(attachments); err != nil {
		return nil, err
	}
	body, err := checkMessageBody(body)
	if err != nil && !(len(attachments) > 0 && strings.TrimSpace(body) == "" && ErrorCode(err) == EINVALID) {
		return nil, err
	}
	body = strings.TrimSpace(body)
	var out *ThreadPost
	err = s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if err := MayWriteThread(p, c, th); err != nil {
			return err
		}
		var prev []byte
		err := tx.QueryRow(ctx, `SELECT hash FROM case_messages WHERE case_id = $1 AND thread = $2 ORDER BY id DESC LIMIT 1`, c.ID, th).Scan(&prev)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		role, side := authorOf(p, c)
		atts, err := attachMaterials(ctx, tx, p, c, th, attachments)
		if err != nil {
			return err
		}
		m := ThreadMessage{Thread: th, AuthorKind: string(p.Kind), AuthorID: p.ID, AuthorName: p.Name, AuthorRole: role, AuthorSide: side, Body: body, Attachments: atts, At: s.now()}
		hash := messageHash(prev, c.ID, &m)
		m.Hash = hex.EncodeToString(hash)
		if err := tx.QueryRow(ctx, `INSERT INTO case_messages (case_id, thread, author_kind, author_id, author_name, author_role, author_side, body, at, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			c.ID, th, m.AuthorKind, m.AuthorID, m.AuthorName, m.AuthorRole, string(m.AuthorSide), m.Body, m.At, prev, hash).Scan(&m.ID); err != nil {
			return err
		}
		if err := insertAttachments(ctx, tx, m.ID, atts); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO case_thread_heads (case_id, thread, messages, head) VALUES ($1, $2, 1, $3)
			ON CONFLICT (case_id, thread) DO UPDATE SET messages = case_thread_heads.messages + 1, head = EXCLUDED.head`, c.ID, th, hash); err != nil {
			return err
		}
		// The author has read what it wrote.
		if _, err := tx.Exec(ctx, `INSERT INTO case_thread_readers (case_id, thread, reader_id, last_read) VALUES ($1, $2, $3, $4)
			ON CONFLICT (case_id, thread, reader_id) DO UPDATE SET last_read = GREATEST(case_thread_readers.last_read, EXCLUDED.last_read)`, c.ID, th, p.ID, m.ID); err != nil {
			return err
		}
		notices, err := s.threadNotices(ctx, tx, c, th, p, m.At)
		if err != nil {
			return err
		}
		out = &ThreadPost{Message: m, Notices: notices}
		return nil
	})
	if err != nil {
		return nil, dbErr("post message", err)
	}
	return out, nil
}

// threadNotices picks the parties and agents of thread th, other than the author, who have a phone and were not
// told of this thread within ThreadNoticeInterval, and records that they are told now.
func (s *Store) threadNotices(ctx context.Context, tx pgx.Tx, c *Case, th Thread, author Principal, now time.Time) ([]ThreadNotice, error) {
	type reader struct{ id, name, phone string }
	var readers []reader
	for _, party := range c.Parties {
		if th != ThreadJoint && Thread(party.Side) != th {
			continue
		}
		readers = append(readers, reader{party.ID, party.Name, party.Phone})
		for _, a := range party.Agents {
			readers = append(readers, reader{a.ID, a.Name, a.Phone})
		}
	}
	var out []ThreadNotice
	for _, r := range readers {
		if r.id == author.ID || r.phone == "" {
			continue
		}
		tag, err := tx.Exec(ctx, `INSERT INTO case_thread_readers (case_id, thread, reader_id, notified_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (case_id, thread, reader_id) DO UPDATE SET notified_at = EXCLUDED.notified_at
			WHERE case_thread_readers.notified_at IS NULL OR case_thread_readers.notified_at <= $5`,
			c.ID, th, r.id, now, now.Add(-ThreadNoticeInterval))
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 1 {
			out = append(out, ThreadNotice{To: r.phone, Name: r.name, CaseNumber: c.Number, Thread: th})
		}
	}
	return out, nil
}

// viewCase loads case caseID for reading in tx; a case p may not see is answered as not found, as if it did not
// exist (as withCase does).
func viewCase(ctx context.Context, tx pgx.Tx, p Principal, caseID string) (*Case, error) {
	c, err := loadCase(ctx, tx, caseID, false)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "%s not found", "case")
	}
	return c, nil
}

// CaseThreads lists the threads p may read in case caseID, with how many messages each has and how many p has
// not read.
func (s *Store) CaseThreads(ctx context.Context, p Principal, caseID string) ([]ThreadSummary, error) {
	var out []ThreadSummary
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		c, err := viewCase(ctx, tx, p, caseID)
		if err != nil {
			return err
		}
		for _, th := range Threads {
			if !MayReadThread(p, c, th) {
				continue
			}
			sum := ThreadSummary{Thread: th, Writable: MayWriteThread(p, c, th) == nil}
			if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE m.id > COALESCE(r.last_read, 0)), max(m.at)
				FROM case_messages m LEFT JOIN case_thread_readers r ON r.case_id = m.case_id AND r.thread = m.thread AND r.reader_id = $3
				WHERE m.case_id = $1 AND m.thread = $2`, c.ID, th, p.ID).Scan(&sum.Messages, &sum.Unread, &sum.LastAt); err != nil {
				return err
			}
			out = append(out, sum)
		}
		return nil
	})
	if err != nil {
		return nil, dbErr("threads", err)
	}
	return out, nil
}

// ThreadMessages returns up to limit messages of thread th after message id after (oldest first), and records
// that p has read them.
func (s *Store) ThreadMessages(ctx context.Context, p Principal, caseID string, th Thread, after int64, limit int) ([]ThreadMessage, error) {
	limit = min(max(limit, 1), 500)
	var out []ThreadMessage
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		c, err := viewCase(ctx, tx, p, caseID)
		if err != nil {
			return err
		}
		if !MayReadThread(p, c, th) {
			return Errorf(EFORBIDDEN, "only the people of this thread can read it")
		}
		rows, err := tx.Query(ctx, `SELECT id, author_kind, author_id, author_name, author_role, author_side, body, at, hash
			FROM case_messages WHERE case_id = $1 AND thread = $2 AND id > $3 ORDER BY id LIMIT $4`, c.ID, th, after, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ThreadMessage, error) {
			m := ThreadMessage{Thread: th}
			var side string
			var hash []byte
			err := r.Scan(&m.ID, &m.AuthorKind, &m.AuthorID, &m.AuthorName, &m.AuthorRole, &side, &m.Body, &m.At, &hash)
			m.AuthorSide, m.Hash = Side(side), hex.EncodeToString(hash)
			return m, err
		})
		if err != nil || len(out) == 0 {
			return err
		}
		atts, err := messageAttachments(ctx, tx, c.ID, out[0].ID, out[len(out)-1].ID)
		if err != nil {
			return err
		}
		for i := range out {
			for _, sa := range atts[out[i].ID] {
				// A reader sees an attachment only if the material's own rules let it read the material.
				if MayReadMaterial(p, c, sa.material) {
					m := sa.material
					out[i].Attachments = append(out[i].Attachments, Attachment{MaterialID: m.ID, Filename: m.Filename, ContentType: m.ContentType, Size: m.Size, SHA256: m.SHA256})
				}
			}
		}
		if p.ID == "" {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO case_thread_readers (case_id, thread, reader_id, last_read) VALUES ($1, $2, $3, $4)
			ON CONFLICT (case_id, thread, reader_id) DO UPDATE SET last_read = GREATEST(case_thread_readers.last_read, EXCLUDED.last_read)`,
			c.ID, th, p.ID, out[len(out)-1].ID)
		return err
	})
	if err != nil {
		return nil, dbErr("messages", err)
	}
	return out, nil
}

// VerifyThreads recomputes the hash chain of every thread of case caseID and reports the first message that does
// not match what was stored (changed, removed or inserted afterwards), or a thread whose count or last hash is not
// its head's (its last messages removed).
func (s *Store) VerifyThreads(ctx context.Context, caseID string) error {
	atts, err := messageAttachments(ctx, s.pool, caseID, 0, 1<<62)
	if err != nil {
		return dbErr("verify threads", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, thread, author_kind, author_id, author_name, author_role, author_side, body, at, prev_hash, hash
		FROM case_messages WHERE case_id = $1 ORDER BY thread, id`, caseID)
	if err != nil {
		return dbErr("verify threads", err)
	}
	last := map[Thread][]byte{}
	count := map[Thread]int{}
	for rows.Next() {
		var m ThreadMessage
		var side string
		var prev, hash []byte
		if err := rows.Scan(&m.ID, &m.Thread, &m.AuthorKind, &m.AuthorID, &m.AuthorName, &m.AuthorRole, &side, &m.Body, &m.At, &prev, &hash); err != nil {
			rows.Close()
			return dbErr("verify threads", err)
		}
		m.AuthorSide = Side(side)
		for _, sa := range atts[m.ID] {
			// As chained when written; and the material's bytes must still be those.
			if sum := hex.EncodeToString(sa.sha256); sum != sa.material.SHA256 {
				rows.Close()
				return Errorf(ECONFLICT, "thread %s: message %d: attachment %s is not the file that was attached", m.Thread, m.ID, sa.material.ID)
			}
			m.Attachments = append(m.Attachments, Attachment{MaterialID: sa.material.ID, SHA256: hex.EncodeToString(sa.sha256)})
		}
		if string(prev) != string(last[m.Thread]) {
			rows.Close()
			return Errorf(ECONFLICT, "thread %s: message %d does not follow the one before it (a message was removed or inserted)", m.Thread, m.ID)
		}
		if want := messageHash(prev, caseID, &m); string(want) != string(hash) {
			rows.Close()
			return Errorf(ECONFLICT, "thread %s: message %d was changed after it was written", m.Thread, m.ID)
		}
		last[m.Thread] = hash
		count[m.Thread]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return dbErr("verify threads", err)
	}
	heads := map[Thread]bool{}
	hr, err := s.pool.Query(ctx, `SELECT thread, messages, head FROM case_thread_heads WHERE case_id = $1`, caseID)
	if err != nil {
		return dbErr("verify threads", err)
	}
	defer hr.Close()
	for hr.Next() {
		var th Thread
		var n int
		var head []byte
		if err := hr.Scan(&th, &n, &head); err != nil {
			return dbErr("verify threads", err)
		}
		heads[th] = true
		if n != count[th] || string(head) != string(last[th]) {
			return Errorf(ECONFLICT, "thread %s: %d messages where %d were written (messages were removed)", th, count[th], n)
		}
	}
	if err := hr.Err(); err != nil {
		return dbErr("verify threads", err)
	}
	for th := range count {
		if !heads[th] {
			return Errorf(ECONFLICT, "thread %s: messages without a head (inserted outside Parley)", th)
		}
	}
	return nil
}

// ThreadCount returns how many messages the threads of case caseID hold (for parley audit verify).
func (s *Store) ThreadCount(ctx context.Context, caseID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM case_messages WHERE case_id = $1`, caseID).Scan(&n)
	return n, dbErr("thread count", err)
}
