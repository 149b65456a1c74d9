package docflow

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// PrepareRequest starts a device signature: the signer's drawn signature and device key.
type PrepareRequest struct {
	Field     string `json:"field"`
	PublicKey string `json:"public_key"` // base64 DER SubjectPublicKeyInfo (WebCrypto exportKey "spki")
	Proof     string `json:"proof"`      // base64 signature by that key over KeyProofMessage
	Image     string `json:"image"`      // base64 PNG of the handwritten signature
}

// Valid reports problems with the request, by field.
func (p PrepareRequest) Valid() map[string]string {
	f := map[string]string{}
	if p.Field == "" || len(p.Field) > 64 {
		f["field"] = "is required"
	}
	for name, v := range map[string]string{"public_key": p.PublicKey, "proof": p.Proof, "image": p.Image} {
		if v == "" {
			f[name] = "is required"
		} else if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			f[name] = "must be base64"
		}
	}
	return f
}

// KeyProofMessage is what a device signs to show it holds the key it asks a certificate for; it names the case
// and the signer so that a proof cannot be replayed for someone else.
func KeyProofMessage(caseID, signerID, publicKeyB64 string) []byte {
	return []byte("parley-key-proof:" + caseID + ":" + signerID + ":" + publicKeyB64)
}

// PrepareResponse is what the device signs.
type PrepareResponse struct {
	Field       string    `json:"field"`
	ToBeSigned  string    `json:"to_be_signed"` // base64: sign with ECDSA {hash: SHA-256}, send back raw r‖s
	Certificate string    `json:"certificate"`  // PEM certificate Parley's CA issued for the device key
	BaseVersion int       `json:"base_version"`
	ExpiresAt   time.Time `json:"expires_at"`
	// What the device checks before it signs (what you see is what you sign, docs/signing.md): the revision the
	// signature covers is the base version's bytes followed by Update; its byte ranges hash to the signed
	// attributes' message digest.
	Revision *PreparedRevision `json:"revision,omitempty"`
}

// FinishRequest carries the device's signature.
type FinishRequest struct {
	Field     string `json:"field"`
	Signature string `json:"signature"` // base64 raw r‖s from the device
}

// Valid reports problems with the request, by field.
func (f FinishRequest) Valid() map[string]string {
	out := map[string]string{}
	if f.Field == "" {
		out["field"] = "is required"
	}
	if b, err := base64.StdEncoding.DecodeString(f.Signature); err != nil || len(b) == 0 || len(b) > 256 {
		out["signature"] = "must be the base64 device signature"
	}
	return out
}

// PEMCert encodes a certificate as PEM.
func PEMCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// signerIdentity returns the role printed for the signer and how their identity was checked.
func (s *Service) signerIdentity(ctx context.Context, p cases.Principal, c *cases.Case) (role, method string, err error) {
	method, err = s.Store.IdentityMethod(ctx, c.ID, p.ID)
	if err != nil {
		return "", "", err
	}
	switch p.Kind {
	case cases.KindParty:
		role = string(p.Side)
		if method == "" {
			method = "invitation_code"
		}
	case cases.KindAgent:
		role = signing.RoleAgent
		if method == "" {
			method = "invitation_code"
		}
	default:
		role = signing.RoleMediator
		if method == "" {
			method = "staff_login"
		}
	}
	return role, method, nil
}

var reasons = map[string]string{cases.DocAgreement: "同意本调解协议内容", cases.DocRecord: "确认本笔录内容", cases.DocConfirmationSheet: "确认线下签署的调解协议"}

// Prepare is step 1 of a device signature on document docID: it checks the rules, the proof of key possession
// and the drawing, has Parley's CA certify the device key, and prepares the signature on the current version.
func (s *Service) Prepare(ctx context.Context, p cases.Principal, docID string, in PrepareRequest) (*PrepareResponse, error) {
	if err := cases.Invalid(in.Valid()); err != nil {
		return nil, err
	}
	doc, c, err := s.document(ctx, docID)
	if err != nil {
		return nil, err
	}
	if _, err := cases.CheckSign(p, c, doc, in.Field); err != nil {
		return nil, err
	}
	spki, _ := base64.StdEncoding.DecodeString(in.PublicKey)
	pub, err := signing.ParseDeviceKey(spki)
	if err != nil {
		return nil, cases.Invalid(map[string]string{"public_key": "must be an ECDSA P-256 public key in SPKI form"})
	}
	proof, _ := base64.StdEncoding.DecodeString(in.Proof)
	if err := signing.VerifyDeviceSignature(pub, KeyProofMessage(c.ID, p.ID, in.PublicKey), proof); err != nil {
		return nil, cases.Invalid(map[string]string{"proof": "does not verify with public_key: sign KeyProofMessage with the device key"})
	}
	png, _ := base64.StdEncoding.DecodeString(in.Image)
	img, err := signing.DecodeSignatureImage(png, signing.DefaultImageLimits)
	if err != nil {
		msg := "must be a PNG image of the drawn signature"
		if errors.Is(err, signing.ErrBlankSignature) {
			msg = "is blank: draw the signature"
		}
		return nil, cases.Invalid(map[string]string{"image": msg})
	}
	role, _, err := s.signerIdentity(ctx, p, c)
	if err != nil {
		return nil, err
	}
	cert, err := s.IssueSignerCertificate(ctx, p, c, pub, spki, role)
	if err != nil {
		return nil, err
	}
	current, version, err := s.Store.DocumentPDF(ctx, doc.ID, 0)
	if err != nil {
		return nil, err
	}
	val, err := s.Keys.Validation()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	pending, err := signing.Prepare(current, signing.Request{
		Field: in.Field, Cert: cert, Chain: s.Keys.CA.Chain(), Time: now, Validation: val,
		Reason:     reasons[doc.Kind],
		Location:   "Parley 在线调解平台",
		Appearance: signing.Appearance{Image: img, Name: p.Name, Role: RoleLabel(role, doc.Lang), Lang: doc.Lang, Font: s.Font, Zone: s.Zone},
	})
	if err != nil {
		return nil, fmt.Errorf("docflow: prepare signature: %w", err)
	}
	state, err := pending.MarshalBinary()
	if err != nil {
		return nil, err
	}
	exp := now.Add(10 * time.Minute)
	if err := s.Store.SavePending(ctx, cases.PendingSignature{DocumentID: doc.ID, Field: in.Field, SignerKind: string(p.Kind), SignerID: p.ID,
		BaseVersion: version, State: state, ExpiresAt: exp}); err != nil {
		return nil, err
	}
	return &PrepareResponse{Field: in.Field, ToBeSigned: base64.StdEncoding.EncodeToString(pending.ToBeSigned()),
		Certificate: string(PEMCert(cert)), BaseVersion: version, ExpiresAt: exp, Revision: revisionOf(pending)}, nil
}

// IssueSignerCertificate returns the certificate Parley's CA issued for this signer's device key in this case,
// issuing it on first use. Every signing certificate for a device key is issued here and nowhere else, so this is
// the one gate of signing: signing is bound to an identity, not a login (issue 8 §1), and the certificate names
// the identity check it rests on (a new check gives a new certificate).
func (s *Service) IssueSignerCertificate(ctx context.Context, p cases.Principal, c *cases.Case, pub any, spki []byte, role string) (*x509.Certificate, error) {
	ev, err := s.Store.SigningEvidenceFor(ctx, c, p) // the domain rule (cases.SigningIdentity)
	if err != nil {
		return nil, err
	}
	keySHA := SHA256Hex(spki) + evidenceKey(ev)
	if der, ok, err := s.Store.SignerCertificate(ctx, c.ID, string(p.Kind), p.ID, keySHA); err != nil {
		return nil, err
	} else if ok {
		return x509.ParseCertificate(der)
	}
	org := c.OrganisationName
	if p.IsPartySide() {
		if party := c.Party(p.PartyID); party != nil && p.Kind == cases.KindAgent {
			org = party.Name
		} else {
			org = ""
		}
	}
	now := s.Now()
	cert, err := s.Keys.CA.Issue(pub, signing.Subject{Name: p.Name, Role: role, CaseNumber: c.Number, Organisation: org, Identity: certIdentity(c, ev)}, now.Add(-time.Minute), now.AddDate(2, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("docflow: issue certificate: %w", err)
	}
	if err := s.Store.SaveSignerCertificate(ctx, c.ID, p, string(p.Kind), p.ID, keySHA, cert.Raw, SHA256Hex(cert.Raw)); err != nil {
		return nil, err
	}
	return cert, nil
}

// Finish is step 2: it assembles the device's signature into the document. What the signature implies (the
// agreement's effect at the last party's signature) commits with it; the certificate of completion of a document
// it completed is a durable job, run at once and retried by the sweeper. A repeated finish of a field the caller
// already signed answers the document as it stands (the first attempt committed).
func (s *Service) Finish(ctx context.Context, p cases.Principal, docID string, in FinishRequest) (*cases.Document, error) {
	if err := cases.Invalid(in.Valid()); err != nil {
		return nil, err
	}
	doc, c, err := s.document(ctx, docID)
	if err != nil {
		return nil, err
	}
	if doc.Signer(in.Field) != nil && doc.SignedBy(in.Field, p) && cases.MaySign(p, *doc.Signer(in.Field)) {
		s.runJobsOf(ctx, doc)
		return s.Store.Document(ctx, doc.ID)
	}
	if _, err := cases.CheckSign(p, c, doc, in.Field); err != nil {
		return nil, err
	}
	ps, err := s.Store.Pending(ctx, doc.ID, in.Field)
	if err != nil {
		return nil, err
	}
	if ps.SignerKind != string(p.Kind) || ps.SignerID != p.ID {
		return nil, cases.Errorf(cases.EFORBIDDEN, "field %s was prepared for someone else", in.Field)
	}
	sig, _ := base64.StdEncoding.DecodeString(in.Signature)
	var pending signing.Pending
	if err := pending.UnmarshalBinary(ps.State); err != nil {
		return nil, fmt.Errorf("docflow: stored pending signature: %w", err)
	}
	role, method, err := s.signerIdentity(ctx, p, c)
	if err != nil {
		return nil, err
	}
	out, _, err := s.Store.AppendVersion(ctx, doc.ID, func(locked *cases.Document, current []byte) (*cases.NewVersion, error) {
		lc, err := s.Store.Case(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if _, err := cases.CheckSign(p, lc, locked, in.Field); err != nil {
			return nil, err
		}
		pdf, err := signing.Finish(ctx, current, &pending, sig, s.Keys.TSA)
		if err != nil {
			return nil, err
		}
		if pdf, err = s.Keys.MakeLTA(ctx, pdf); err != nil { // validation data after the signature, then a document timestamp
			return nil, err
		}
		s.hook("finish:signing") // inside the transaction, before the commit
		return &cases.NewVersion{PDF: pdf, Field: in.Field, SignerKind: string(p.Kind), SignerID: p.ID, SignerName: p.Name, SignerRole: role,
			CertSHA256: SHA256Hex(pending.Certs[0]), IdentityMethod: method, EventType: "document.signed", Actor: p}, nil
	})
	switch {
	case errors.Is(err, signing.ErrStale):
		_ = s.Store.DeletePending(ctx, doc.ID, in.Field)
		return nil, cases.Errorf(cases.ECONFLICT, "someone else signed the document meanwhile: prepare the signature again on the new version")
	case errors.Is(err, signing.ErrBadSignature):
		return nil, cases.Invalid(map[string]string{"signature": "does not verify with the certificate of the prepared signature"})
	case errors.Is(err, signing.ErrFieldSigned):
		return nil, cases.Errorf(cases.ECONFLICT, "field %s is already signed", in.Field)
	case err != nil:
		return nil, err
	}
	s.hook("finish:committed")
	s.runJobsOf(ctx, out)
	return s.Store.Document(ctx, out.ID)
}

// Seal affixes the mediation organisation's seal after every other signer. A repeated seal whose first attempt
// committed answers the document as it stands.
func (s *Service) Seal(ctx context.Context, p cases.Principal, docID string) (*cases.Document, error) {
	doc, c, err := s.document(ctx, docID)
	if err != nil {
		return nil, err
	}
	field, err := cases.CheckSeal(p, c, doc)
	if err != nil {
		if f := doc.SealField(); f != nil && cases.ErrorCode(err) == cases.ECONFLICT {
			if _, done := doc.Signed()[f.Field]; done {
				s.runJobsOf(ctx, doc)
				return s.Store.Document(ctx, doc.ID)
			}
		}
		return nil, err
	}
	kp, err := s.Keys.SealKey(ctx, c.OrganisationID, c.OrganisationName, signing.RoleOrganisation)
	if err != nil {
		return nil, err
	}
	out, err := s.serverSign(ctx, doc.ID, field.Field, kp, c.OrganisationName, signing.RoleOrganisation, "调解组织确认", true, nil)
	if err != nil {
		if cases.ErrorCode(err) == cases.ECONFLICT {
			if again, derr := s.Store.Document(ctx, doc.ID); derr == nil {
				if _, done := again.Signed()[field.Field]; done {
					return again, nil
				}
			}
		}
		return nil, err
	}
	s.hook("seal:committed")
	s.runJobsOf(ctx, out)
	return s.Store.Document(ctx, out.ID)
}

// serverSign adds a signature with a server-held key (a seal, the platform).
func (s *Service) serverSign(ctx context.Context, docID, field string, kp *signing.KeyPair, name, role, reason string, seal bool, newField *signing.NewField) (*cases.Document, error) {
	out, _, err := s.Store.AppendVersion(ctx, docID, func(locked *cases.Document, current []byte) (*cases.NewVersion, error) {
		if _, done := locked.Signed()[field]; done {
			return nil, cases.Errorf(cases.ECONFLICT, "field %s is already signed", field)
		}
		return s.serverVersion(ctx, locked, current, field, kp, name, role, reason, signing.Appearance{Name: name,
			Role: map[bool]string{true: "调解专用章", false: RoleLabel(role, locked.Lang)}[seal], Seal: seal}, newField)
	})
	return out, err
}

// serverVersion signs current with a server-held key and describes the new version.
func (s *Service) serverVersion(ctx context.Context, d *cases.Document, current []byte, field string, kp *signing.KeyPair, name, role, reason string, ap signing.Appearance, newField *signing.NewField) (*cases.NewVersion, error) {
	val, err := s.Keys.Validation()
	if err != nil {
		return nil, err
	}
	ap.Font, ap.Lang, ap.Zone = s.Font, d.Lang, s.Zone
	pdf, err := signing.Sign(ctx, current, signing.Request{
		Field: field, NewField: newField, Cert: kp.Cert, Chain: kp.Chain, Time: s.Now(), Validation: val, Reason: reason, Location: "Parley 在线调解平台",
		Appearance: ap,
	}, kp.Key, s.Keys.TSA)
	if err != nil {
		return nil, err
	}
	if pdf, err = s.Keys.MakeLTA(ctx, pdf); err != nil { // validation data after the signature, then a document timestamp
		return nil, err
	}
	evType := map[string]string{signing.RoleOrganisation: "document.sealed", signing.RoleCourt: "document.court_signed"}[role]
	if evType == "" {
		evType = "document.signed"
	}
	return &cases.NewVersion{PDF: pdf, Field: field, SignerKind: role, SignerID: "", SignerName: name, SignerRole: role, CertSHA256: SHA256Hex(kp.Cert.Raw),
		IdentityMethod: "server-held key", EventType: evType, Actor: cases.System}, nil
}

// Confirm takes the judge's confirmation (司法确认) of the case's agreement: the court's key signs the agreement,
// with a visible stamp on its last page (the court's name, the date, the case number), in the same transaction
// as the case's change of state. If the court's signature cannot be applied, the case is not confirmed.
func (s *Service) Confirm(ctx context.Context, p cases.Principal, caseID string, in cases.Params) (*cases.ActResult, error) {
	return s.Store.ConfirmAgreement(ctx, p, caseID, in, func(c *cases.Case, d *cases.Document, current []byte) (*cases.NewVersion, error) {
		kp, err := s.Keys.SealKey(ctx, c.CourtID, c.CourtName, signing.RoleCourt)
		if err != nil {
			return nil, err
		}
		now := s.Now()
		stamp := &signing.CourtStamp{Court: c.CourtName, CaseNumber: c.Number, Date: now.In(s.Zone)}
		nv, err := s.serverVersion(ctx, d, current, cases.CourtField, kp, c.CourtName, signing.RoleCourt, "司法确认",
			signing.Appearance{Name: c.CourtName, Role: "司法确认", Stamp: stamp}, &signing.NewField{Page: d.Pages, Rect: signing.CourtStampRect()})
		if err == nil {
			s.hook("confirm:signing") // inside the transaction, before the commit
		}
		return nv, err
	})
}
