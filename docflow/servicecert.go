package docflow

import (
	"context"
	"fmt"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// ServiceCertificate makes the service certificate (送达证明) of one electronic service, signed by the platform
// key (PAdES with a timestamp): the served document's title and SHA-256, the address, the channel and every
// time the record holds now. It is made when asked for, so it always shows the record's latest state; each one
// issued is recorded in the case's trail with its own SHA-256.
func (s *Service) ServiceCertificate(ctx context.Context, c *cases.Case, rec *cases.ServiceRecord, address string) ([]byte, error) {
	party := c.Party(rec.PartyID)
	if party == nil {
		return nil, cases.Errorf(cases.ENOTFOUND, "party not found")
	}
	channel := map[string]string{cases.ChannelSMS: "短信（SMS）", cases.ChannelEmail: "电子邮件（e-mail）", cases.ChannelInApp: "平台站内（在线调解平台当事人页面）"}[rec.Channel]
	if channel == "" {
		channel = "未电子送达（受送达人尚未确认电子送达地址）"
	}
	status := map[string]string{
		cases.ServiceWithheld: "未送达：受送达人尚未确认电子送达地址或同意电子送达",
		cases.ServiceFailed:   "送达失败：" + rec.Result,
		cases.ServiceSent:     "已发出，尚无送达渠道接收记录（" + rec.Result + "）",
		cases.ServiceAccepted: "送达渠道已接收，尚无到达记录",
		cases.ServiceReached:  "已到达受送达人电子送达地址所在系统，送达生效" + receiptNote(rec),
		cases.ServiceOpened:   "受送达人已打开，送达生效",
	}[rec.Status]
	cert := &signing.ServiceCertificate{
		Meta:     s.meta(c, cases.NewID(), "zh"),
		ServedOn: party.Name, DocumentTitle: rec.Title, DocumentSHA256: rec.DocumentSHA256,
		Channel: channel, Address: address, Status: status, ChannelRef: rec.MessageID, Text: rec.Body,
	}
	if rec.SentAt != nil {
		cert.Sent = rec.SentAt.In(s.Zone)
	}
	if rec.AcceptedAt != nil {
		cert.Accepted = rec.AcceptedAt.In(s.Zone)
	}
	if rec.ReachedAt != nil {
		cert.Reached = rec.ReachedAt.In(s.Zone)
	}
	if rec.OpenedAt != nil {
		cert.Opened = rec.OpenedAt.In(s.Zone)
	}
	if rec.EffectiveAt != nil {
		cert.Effective = rec.EffectiveAt.In(s.Zone)
	}
	gen, err := (&signing.Generator{Font: s.Font}).ServiceCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("docflow: service certificate: %w", err)
	}
	val, err := s.Keys.Validation()
	if err != nil {
		return nil, err
	}
	kp := s.Keys.Platform
	pdf, err := signing.Sign(ctx, gen.PDF, signing.Request{
		Field: "sig-platform", Cert: kp.Cert, Chain: kp.Chain, Time: s.Now(), Validation: val, Reason: "送达证明", Location: "Parley 在线调解平台",
		Appearance: signing.Appearance{Name: "Parley", Role: RoleLabel(signing.RolePlatform, "zh"), Font: s.Font, Lang: "zh", Zone: s.Zone},
	}, kp.Key, s.Keys.TSA)
	if err != nil {
		return nil, fmt.Errorf("docflow: sign service certificate: %w", err)
	}
	if pdf, err = s.Keys.MakeLTA(ctx, pdf); err != nil { // validation data, then a document timestamp (PAdES B-LTA)
		return nil, fmt.Errorf("docflow: service certificate: %w", err)
	}
	if _, err := s.Store.RecordEvent(ctx, c.ID, cases.System, "service.certificate_issued", cases.VisStaff, map[string]any{
		"service_id": rec.ID, "party_id": rec.PartyID, "certificate_id": cert.DocumentID, "sha256": SHA256Hex(pdf), "status": rec.Status,
	}); err != nil {
		return nil, err
	}
	return pdf, nil
}

// receiptNote says how a reach was proved when the channel's delivery receipt proved it.
func receiptNote(rec *cases.ServiceRecord) string {
	if rec.MessageID != "" && rec.Channel == cases.ChannelSMS {
		return "（短信服务商送达回执）"
	}
	return ""
}
