package cases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Electronic service (电子送达, issue 12 §2; OLR Art. 29–32). A party confirms its electronic-service address and
// consents to electronic service as its own act; until it has, documents are not served electronically to it
// (the service is recorded as withheld, for staff to serve another way). Every service is a record with the
// times it was sent, accepted by the channel, reached the address's system and opened; it takes effect when it
// reaches the address's system.

// Service channels a party may confirm.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
	ChannelInApp = "in_app" // the party's own page on Parley: Parley is the address's system
)

// Service record states, in order.
const (
	ServiceWithheld = "withheld" // no confirmed address or no consent: not served electronically
	ServiceFailed   = "failed"   // the channel refused it
	ServiceSent     = "sent"     // handed to the channel (a log notifier stops here: "logged", never "delivered")
	ServiceAccepted = "accepted" // the channel (SMTP server, SMS gateway) accepted it
	ServiceReached  = "reached"  // it reached the address's system: service takes effect
	ServiceOpened   = "opened"   // the party opened it
)

var mobileRE = regexp.MustCompile(`^(\+?86)?1[3-9][0-9]{9}$`)

// ServiceAddressInput is a party's 送达地址确认书: where it accepts electronic service, and its consent.
type ServiceAddressInput struct {
	Channel string `json:"channel"`           // sms, email or in_app
	Address string `json:"address,omitempty"` // the mobile number or e-mail address (none for in_app)
	Consent bool   `json:"consent"`           // consents to electronic service at this address; false withdraws consent
}

// Valid checks the input.
func (in ServiceAddressInput) Valid() map[string]string {
	f := map[string]string{}
	addr := strings.TrimSpace(in.Address)
	switch in.Channel {
	case ChannelSMS:
		if !mobileRE.MatchString(strings.ReplaceAll(addr, " ", "")) {
			f["address"] = "is a mainland mobile number (11 digits starting with 1)"
		}
	case ChannelEmail:
		if !emailRE.MatchString(addr) || len(addr) > 200 {
			f["address"] = "is an e-mail address"
		}
	case ChannelInApp:
		if addr != "" {
			f["address"] = "stays empty for in_app (the party's page on Parley)"
		}
	default:
		f["channel"] = "is sms, email or in_app"
	}
	return f
}

// ServiceConfirmation is the confirmation of a party in force.
type ServiceConfirmation struct {
	PartyID         string    `json:"party_id"`
	Channel         string    `json:"channel"`
	Address         string    `json:"address,omitempty"`
	Consent         bool      `json:"consent"`
	ConfirmedBy     string    `json:"confirmed_by"`
	ConfirmedByName string    `json:"confirmed_by_name"`
	ConfirmedAt     time.Time `json:"confirmed_at"`
	EventSeq        int64     `json:"event_seq"`
}

// ConfirmServiceAddress records a party's own confirmation of its electronic-service address and its consent
// (or its withdrawal of consent). Only the party or its agent may: staff cannot confirm for it.
func (s *Store) ConfirmServiceAddress(ctx context.Context, p Principal, caseID string, in ServiceAddressInput) (*ServiceConfirmation, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	if err := Invalid(in.Valid()); err != nil {
		return nil, err
	}
	var out *ServiceConfirmation
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !p.IsPartySide() || c.Party(p.PartyID) == nil {
			return Errorf(EFORBIDDEN, "a party confirms its electronic-service address itself (送达地址确认书): staff cannot do it for it")
		}
		addr := strings.TrimSpace(in.Address)
		if in.Channel == ChannelSMS {
			addr = strings.ReplaceAll(addr, " ", "")
		}
		now := s.now()
		ev, err := s.appendEvent(ctx, tx, caseID, p, "service.address_confirmed", VisSide(p.Side), map[string]any{
			"party_id": p.PartyID, "channel": in.Channel, "service_address": addr, "consent": in.Consent,
		}, now)
		if err != nil {
			return err
		}
		out = &ServiceConfirmation{PartyID: p.PartyID, Channel: in.Channel, Address: addr, Consent: in.Consent, ConfirmedBy: p.ID, ConfirmedByName: p.Name, ConfirmedAt: now, EventSeq: ev.Seq}
		_, err = tx.Exec(ctx, `INSERT INTO service_confirmations (case_id, party_id, channel, address, consent, confirmed_by, confirmed_by_name, confirmed_at, event_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, caseID, out.PartyID, out.Channel, out.Address, out.Consent, out.ConfirmedBy, out.ConfirmedByName, now, ev.Seq)
		return err
	})
	if err != nil {
		return nil, dbErr("confirm service address", err)
	}
	return out, nil
}

func (s *Store) currentConfirmation(ctx context.Context, q querier, caseID, partyID string) (*ServiceConfirmation, error) {
	var c ServiceConfirmation
	err := q.QueryRow(ctx, `SELECT party_id, channel, address, consent, confirmed_by, confirmed_by_name, confirmed_at, event_seq FROM service_confirmations
		WHERE case_id = $1 AND party_id = $2 ORDER BY confirmed_at DESC, event_seq DESC LIMIT 1`, caseID, partyID).
		Scan(&c.PartyID, &c.Channel, &c.Address, &c.Consent, &c.ConfirmedBy, &c.ConfirmedByName, &c.ConfirmedAt, &c.EventSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr("service confirmation", err)
	}
	return &c, nil
}

// ServiceConfirmations returns the confirmations in force: a party or agent reads its own party's; the case's
// staff read every party's.
func (s *Store) ServiceConfirmations(ctx context.Context, p Principal, caseID string) ([]ServiceConfirmation, error) {
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	out := []ServiceConfirmation{}
	for _, party := range c.Parties {
		if p.IsPartySide() && party.ID != p.PartyID {
			continue
		}
		if !p.IsPartySide() && !CaseStaff(p, c) && p.Kind != KindSystem {
			return nil, Errorf(EFORBIDDEN, "the parties' service addresses are for the case's staff")
		}
		conf, err := s.currentConfirmation(ctx, s.pool, c.ID, party.ID)
		if err != nil {
			return nil, err
		}
		if conf != nil {
			out = append(out, *conf)
		}
	}
	return out, nil
}

// ServiceRecord is one service of a document to a party.
type ServiceRecord struct {
	ID             string     `json:"id"`
	CaseID         string     `json:"case_id"`
	PartyID        string     `json:"party_id"`
	Kind           string     `json:"kind"` // session_notice, ending_notice, … (NoticeKinds)
	Title          string     `json:"title"`
	Body           string     `json:"body"`
	DocumentID     string     `json:"document_id,omitempty"`
	DocumentSHA256 string     `json:"document_sha256,omitempty"`
	Channel        string     `json:"channel,omitempty"`
	Address        string     `json:"address,omitempty"`
	Status         string     `json:"status"`
	Result         string     `json:"result,omitempty"` // what the channel said: logged, accepted, an error
	SentAt         *time.Time `json:"sent_at,omitempty"`
	AcceptedAt     *time.Time `json:"accepted_at,omitempty"`
	ReachedAt      *time.Time `json:"reached_at,omitempty"`
	OpenedAt       *time.Time `json:"opened_at,omitempty"`
	FailedAt       *time.Time `json:"failed_at,omitempty"`
	MessageID      string     `json:"message_id,omitempty"`   // the channel's own id of the message (an HTTP SMS provider's), by which its receipts find the record
	EffectiveAt    *time.Time `json:"effective_at,omitempty"` // when service took effect: it reached the address's system (or was opened there)
	CreatedAt      time.Time  `json:"created_at"`
}

func (r *ServiceRecord) settle() {
	switch {
	case r.ReachedAt != nil:
		r.EffectiveAt = r.ReachedAt
	case r.OpenedAt != nil:
		r.EffectiveAt = r.OpenedAt
	}
}

// NewService is a document to serve on a party.
type NewService struct {
	PartyID        string
	Kind           string
	Title          string
	Body           string
	DocumentID     string
	DocumentSHA256 string
}

const serviceCols = `id, case_id, party_id, kind, title, body, document_id, document_sha256, channel, address, status, result, sent_at, accepted_at, reached_at, opened_at, failed_at, provider_message_id, created_at`

func scanService(row pgx.Row) (*ServiceRecord, error) {
	var r ServiceRecord
	if err := row.Scan(&r.ID, &r.CaseID, &r.PartyID, &r.Kind, &r.Title, &r.Body, &r.DocumentID, &r.DocumentSHA256, &r.Channel, &r.Address, &r.Status, &r.Result,
		&r.SentAt, &r.AcceptedAt, &r.ReachedAt, &r.OpenedAt, &r.FailedAt, &r.MessageID, &r.CreatedAt); err != nil {
		return nil, err
	}
	r.settle()
	return &r, nil
}

// BeginService records the service of a document on a party, before it goes out. Without a confirmed address
// and consent the record is withheld (and nothing is to be sent). Otherwise it is sent: to the party's page at
// once (in_app: Parley is the address's system, so it is reached now), or to its phone or e-mail by the
// caller, who reports the channel's answer with FinishService. The token opens the served notice (its personal
// link) and marks it opened.
func (s *Store) BeginService(ctx context.Context, caseID string, in NewService) (*ServiceRecord, Token, error) {
	if !isUUID(caseID) {
		return nil, "", Errorf(ENOTFOUND, "case not found")
	}
	var rec *ServiceRecord
	var tok Token
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		c, err := loadCase(ctx, tx, caseID, true)
		if err != nil {
			return err
		}
		if c.Party(in.PartyID) == nil {
			return Errorf(ENOTFOUND, "party not found")
		}
		conf, err := s.currentConfirmation(ctx, tx, caseID, in.PartyID)
		if err != nil {
			return err
		}
		now := s.now()
		if in.DocumentSHA256 == "" {
			// A notice is its text: the hash covers the title and the body served.
			sum := sha256.Sum256([]byte(in.Title + "\n" + in.Body))
			in.DocumentSHA256 = hex.EncodeToString(sum[:])
		}
		rec = &ServiceRecord{CaseID: caseID, PartyID: in.PartyID, Kind: in.Kind, Title: in.Title, Body: in.Body, DocumentID: in.DocumentID, DocumentSHA256: in.DocumentSHA256, CreatedAt: now}
		var hash []byte
		switch {
		case conf == nil || !conf.Consent:
			rec.Status, rec.Result = ServiceWithheld, "the party has not confirmed an electronic-service address with its consent"
		default:
			rec.Channel, rec.Address, rec.Status, rec.SentAt = conf.Channel, conf.Address, ServiceSent, &now
			if conf.Channel == ChannelInApp {
				rec.Status, rec.ReachedAt, rec.Result = ServiceReached, &now, "in the party's page on Parley"
			}
			var terr error
			if tok, hash, terr = newToken("sv_"); terr != nil {
				return terr
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO service_records (case_id, party_id, kind, title, body, document_id, document_sha256, channel, address, status, result, open_token_hash, sent_at, reached_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
			caseID, rec.PartyID, rec.Kind, rec.Title, rec.Body, rec.DocumentID, rec.DocumentSHA256, rec.Channel, rec.Address, rec.Status, rec.Result, hash, rec.SentAt, rec.ReachedAt, now).Scan(&rec.ID); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, caseID, System, "service."+rec.Status, VisStaff, map[string]any{
			"service_id": rec.ID, "party_id": rec.PartyID, "kind": rec.Kind, "title": rec.Title, "channel": rec.Channel, "service_address": rec.Address,
			"document_id": rec.DocumentID, "document_sha256": rec.DocumentSHA256, "result": rec.Result,
		}, now)
		return err
	})
	if err != nil {
		return nil, "", dbErr("serve", err)
	}
	rec.settle()
	return rec, tok, nil
}

// ChannelAnswer is what the channel answered when a service was handed to it.
type ChannelAnswer struct {
	Outcome   string // ServiceAccepted, ServiceFailed, or "logged" (the log notifier: it stays sent)
	Result    string // in words: "accepted by sms", "failed: …", "logged"
	MessageID string // the channel's own id of the accepted message (an HTTP SMS provider's), for its receipts
}

// FinishService records what the channel answered for a sent service: accepted (an SMTP server, SMS gateway or
// SMS provider took it, with the provider's message id), logged (the log notifier: it went nowhere, it stays
// sent) or a failure.
func (s *Store) FinishService(ctx context.Context, id string, ans ChannelAnswer) (*ServiceRecord, error) {
	outcome, result := ans.Outcome, ans.Result
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "service not found")
	}
	var rec *ServiceRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var caseID string
		if err := tx.QueryRow(ctx, `SELECT case_id FROM service_records WHERE id = $1`, id).Scan(&caseID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, caseID); err != nil {
			return err
		}
		now := s.now()
		var err error
		switch outcome {
		case ServiceAccepted:
			rec, err = scanService(tx.QueryRow(ctx, `UPDATE service_records SET status = 'accepted', accepted_at = $2, result = $3, provider_message_id = $4 WHERE id = $1 AND status = 'sent' RETURNING `+serviceCols, id, now, result, ans.MessageID))
		case ServiceFailed:
			rec, err = scanService(tx.QueryRow(ctx, `UPDATE service_records SET status = 'failed', result = $2, failed_at = $3 WHERE id = $1 AND status = 'sent' RETURNING `+serviceCols, id, result, now))
		default: // logged: stays sent
			rec, err = scanService(tx.QueryRow(ctx, `UPDATE service_records SET result = $2 WHERE id = $1 RETURNING `+serviceCols, id, result))
		}
		if errors.Is(err, pgx.ErrNoRows) {
			rec, err = scanService(tx.QueryRow(ctx, `SELECT `+serviceCols+` FROM service_records WHERE id = $1`, id))
			return err
		}
		if err != nil {
			return err
		}
		data := map[string]any{"service_id": id, "party_id": rec.PartyID, "status": rec.Status, "result": result}
		if ans.MessageID != "" {
			data["message_id"] = ans.MessageID
		}
		_, err = s.appendEvent(ctx, tx, caseID, System, "service.channel_result", VisStaff, data, now)
		return err
	})
	if err != nil {
		return nil, dbErr("record service", err)
	}
	return rec, nil
}

// ServiceRecords returns the services of a case: a party or agent reads its own party's (its in-app inbox),
// the case's staff every one.
func (s *Store) ServiceRecords(ctx context.Context, p Principal, caseID string) ([]ServiceRecord, error) {
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	if !p.IsPartySide() && !CaseStaff(p, c) && p.Kind != KindSystem && !p.IsStaff(RoleAdmin) {
		return nil, Errorf(EFORBIDDEN, "the service records are for the case's staff and each party's own")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+serviceCols+` FROM service_records WHERE case_id = $1 ORDER BY created_at, id`, caseID)
	if err != nil {
		return nil, dbErr("service records", err)
	}
	defer rows.Close()
	out := []ServiceRecord{}
	for rows.Next() {
		r, err := scanService(rows)
		if err != nil {
			return nil, dbErr("service records", err)
		}
		if p.IsPartySide() && r.PartyID != p.PartyID {
			continue
		}
		out = append(out, *r)
	}
	return out, dbErr("service records", rows.Err())
}

// OpenService marks a served notice opened, by its personal link (public: the link is the credential), and
// returns it. Opening implies it reached the address's system.
func (s *Store) OpenService(ctx context.Context, token string) (*ServiceRecord, error) {
	if !strings.HasPrefix(token, "sv_") || len(token) > 100 {
		return nil, Errorf(ENOTFOUND, "this link is not valid")
	}
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT id FROM service_records WHERE open_token_hash = $1`, hashToken(token)).Scan(&id); err != nil {
		return nil, Errorf(ENOTFOUND, "this link is not valid")
	}
	return s.markOpened(ctx, id, "link")
}

// OpenServiceRecord marks a service opened by the party reading it on its page.
func (s *Store) OpenServiceRecord(ctx context.Context, p Principal, id string) (*ServiceRecord, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "service not found")
	}
	var partyID, caseID string
	if err := s.pool.QueryRow(ctx, `SELECT party_id, case_id FROM service_records WHERE id = $1`, id).Scan(&partyID, &caseID); err != nil {
		return nil, Errorf(ENOTFOUND, "service not found")
	}
	if !p.IsPartySide() || p.CaseID != caseID || p.PartyID != partyID {
		return nil, Errorf(ENOTFOUND, "service not found")
	}
	return s.markOpened(ctx, id, "page")
}

func (s *Store) markOpened(ctx context.Context, id, how string) (*ServiceRecord, error) {
	var rec *ServiceRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var caseID, status string
		if err := tx.QueryRow(ctx, `SELECT case_id, status FROM service_records WHERE id = $1`, id).Scan(&caseID, &status); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, caseID); err != nil {
			return err
		}
		if status == ServiceWithheld || status == ServiceFailed {
			return Errorf(ENOTFOUND, "service not found")
		}
		now := s.now()
		var err error
		rec, err = scanService(tx.QueryRow(ctx, `UPDATE service_records SET status = 'opened', opened_at = COALESCE(opened_at, $2), reached_at = COALESCE(reached_at, $2)
			WHERE id = $1 RETURNING `+serviceCols, id, now))
		if err != nil {
			return err
		}
		if status == ServiceOpened {
			return nil // opened before: no second event
		}
		_, err = s.appendEvent(ctx, tx, caseID, System, "service.opened", VisStaff, map[string]any{"service_id": id, "party_id": rec.PartyID, "how": how}, now)
		return err
	})
	if err != nil {
		return nil, dbErr("open service", err)
	}
	return rec, nil
}

// NoticeKinds are the documents Parley serves.
var NoticeKinds = []string{"session_notice", "ending_notice", "agreement_to_sign", "confirmation_decision", "mediation_statement"}

// Notice is the text of a served notice in Chinese and English sentences, with dates in the case's time zone.
type Notice struct {
	Title string
	ZH    string
	EN    string
}

// Body is what is sent: the Chinese sentence, then the English one.
func (n Notice) Body() string { return n.ZH + " / " + n.EN }

// zhTime writes t in loc as 2026年11月16日 10:00; enTime as 16 Nov 2026 10:00; both name the zone.
func zhTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return fmt.Sprintf("%d年%d月%d日 %02d:%02d（%s）", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), zoneName(t, loc, true))
}

func enTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return t.Format("2 Jan 2006 15:04") + " (" + zoneName(t, loc, false) + ")"
}

func zoneName(t time.Time, loc *time.Location, zh bool) string {
	if loc.String() == "Asia/Shanghai" {
		if zh {
			return "北京时间"
		}
		return "Beijing time"
	}
	name, _ := t.Zone()
	return name
}

// SessionNotice is the notice of a scheduled session: when, and the link to enter.
func SessionNotice(c *Case, title string, at time.Time, link string, loc *time.Location) Notice {
	return Notice{
		Title: "调解会议通知 / notice of a mediation session",
		ZH:    fmt.Sprintf("【Parley 在线调解】案件%s（%s）定于%s举行在线调解会议“%s”。请届时通过以下链接进入，并提前准备身份证件以便核验身份：%s", c.Number, c.Title, zhTime(at, loc), title, link),
		EN:    fmt.Sprintf("The online mediation session \"%s\" of case %s is set for %s. Enter through %s at that time, with your identity document at hand for the identity check.", title, c.Number, enTime(at, loc), link),
	}
}

// groundWords names the grounds of ending in sentences (OMR Art. 25).
var groundWords = map[EndGround][2]string{
	GroundAgreement:        {"当事人达成调解协议", "the parties reached an agreement"},
	GroundWithdrawn:        {"申请人撤回调解申请", "the applicant withdrew the application"},
	GroundUnreachable:      {"当事人无法联系", "a party could not be reached"},
	GroundRefusedMediation: {"当事人拒绝继续调解", "a party refused mediation"},
	GroundApart:            {"各方分歧较大，难以达成协议", "the positions were too far apart to agree"},
	GroundTimeLimit:        {"调解期限届满且未经各方同意延长", "the time limit passed without an agreed extension"},
	GroundRefusedToSign:    {"当事人拒绝签署调解协议", "a party refused to sign the agreement"},
	GroundOther:            {"其他原因", "another reason"},
}

// EndingNotice is the notice that mediation ended, naming the ground in words.
func EndingNotice(c *Case, ground EndGround, at time.Time, loc *time.Location) Notice {
	w, ok := groundWords[ground]
	if !ok {
		w = groundWords[GroundOther]
	}
	groundZh, groundEn := w[0], w[1]
	return Notice{
		Title: "调解终结通知 / notice of the end of mediation",
		ZH:    fmt.Sprintf("【Parley 在线调解】案件%s的调解已于%s终结，终结事由：%s。如需了解后续程序，请登录查看或联系%s。", c.Number, zhTime(at, loc), groundZh, orgOrCourtName(c)),
		EN:    fmt.Sprintf("The mediation of case %s ended on %s; ground: %s. Log in or contact %s for what follows.", c.Number, enTime(at, loc), groundEn, orgOrCourtName(c)),
	}
}

func orgOrCourtName(c *Case) string {
	if c.OrganisationName != "" {
		return c.OrganisationName
	}
	return c.CourtName
}

// ServiceRecordFor returns one service and its case if p may read it: the served party (or its agent) and the
// case's staff.
func (s *Store) ServiceRecordFor(ctx context.Context, p Principal, id string) (*ServiceRecord, *Case, error) {
	if !isUUID(id) {
		return nil, nil, Errorf(ENOTFOUND, "service not found")
	}
	rec, err := scanService(s.pool.QueryRow(ctx, `SELECT `+serviceCols+` FROM service_records WHERE id = $1`, id))
	if err != nil {
		return nil, nil, Errorf(ENOTFOUND, "service not found")
	}
	c, err := s.Case(ctx, rec.CaseID)
	if err != nil {
		return nil, nil, err
	}
	own := p.IsPartySide() && p.CaseID == c.ID && p.PartyID == rec.PartyID
	if !own && !CaseStaff(p, c) {
		return nil, nil, Errorf(ENOTFOUND, "service not found")
	}
	return rec, c, nil
}

// AgreementNotice is the notice that an agreement was reached and awaits the party's signature.
func AgreementNotice(c *Case, link string, at time.Time, loc *time.Location) Notice {
	return Notice{
		Title: "调解协议待签署通知 / the agreement awaits your signature",
		ZH:    fmt.Sprintf("【Parley 在线调解】案件%s的各方已于%s达成调解协议，协议文本待您在线签署。请登录后阅读并签署：%s。协议自最后一方签署时生效。", c.Number, zhTime(at, loc), link),
		EN:    fmt.Sprintf("The parties to case %s reached an agreement on %s; it awaits your signature online. Log in to read and sign it: %s. It takes effect when the last party signs.", c.Number, enTime(at, loc), link),
	}
}

// ConfirmationNotice is the notice of the court's decision on an application for judicial confirmation.
func ConfirmationNotice(c *Case, confirmed bool, reason string, at time.Time, loc *time.Location) Notice {
	if confirmed {
		return Notice{
			Title: "司法确认结果通知 / the court confirmed the agreement",
			ZH:    fmt.Sprintf("【Parley 在线调解】%s已于%s裁定确认案件%s的调解协议有效。一方拒绝履行或者未全部履行的，对方当事人可以向人民法院申请强制执行。", c.CourtName, zhTime(at, loc), c.Number),
			EN:    fmt.Sprintf("%s confirmed the agreement of case %s on %s. If a party does not perform it, the other may apply to the court for enforcement.", c.CourtName, c.Number, enTime(at, loc)),
		}
	}
	if strings.TrimSpace(reason) == "" {
		reason = "未说明"
	}
	return Notice{
		Title: "司法确认结果通知 / the court rejected the application for confirmation",
		ZH:    fmt.Sprintf("【Parley 在线调解】%s已于%s裁定驳回案件%s的司法确认申请，理由：%s。当事人可以通过调解方式变更原调解协议或者达成新的调解协议，也可以向人民法院提起诉讼。", c.CourtName, zhTime(at, loc), c.Number, reason),
		EN:    fmt.Sprintf("%s rejected the application to confirm the agreement of case %s on %s; reason: %s. The parties may mediate again to change it or reach a new one, or sue.", c.CourtName, c.Number, enTime(at, loc), reason),
	}
}

// StatementNotice is the notice that the court issued its mediation statement (调解书).
func StatementNotice(c *Case, at time.Time, loc *time.Location) Notice {
	return Notice{
		Title: "调解书送达通知 / the mediation statement was issued",
		ZH:    fmt.Sprintf("【Parley 在线调解】%s已于%s就案件%s（%s）出具民事调解书。请登录查看。", c.CourtName, zhTime(at, loc), c.Number, c.CourtCaseNumber),
		EN:    fmt.Sprintf("%s issued the mediation statement of case %s (%s) on %s. Log in to read it.", c.CourtName, c.Number, c.CourtCaseNumber, enTime(at, loc)),
	}
}

// GroundText names a ground of ending in a Chinese and an English phrase.
func GroundText(g EndGround) (zh, en string) {
	w, ok := groundWords[g]
	if !ok {
		w = groundWords[GroundOther]
	}
	return w[0], w[1]
}
