package signing

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// A party's signing certificate is bound to an identity, not to a login: it names the identity evidence behind
// it and carries the person's identifier. Both go into the certificate's subject as standard X.520 attributes so
// that any tool (openssl x509 -text, pdfsig, Acrobat) shows them:
//
//   - dnQualifier (2.5.4.46): "<SCHEME>-SHA256-<hex>", the SHA-256 of the identifier (identity-card number,
//     unified social credit code or lawyer's licence number), see IdentifierHash. A hash, not the number: the
//     signed PDF travels to the other side and to the court, and the other side must not read a person's ID
//     number out of it (issue 8 §2); whoever knows the number and the case (the court, the person) recomputes it.
//   - description (2.5.4.13): the evidence, "parley-identity-v1; method=…; checked-by=…; at=…; ref=…".
//
// The subject's serialNumber stays the case number (it distinguishes one person's certificates per case).

var (
	oidDescription = asn1.ObjectIdentifier{2, 5, 4, 13}
	oidDNQualifier = asn1.ObjectIdentifier{2, 5, 4, 46}
)

// IdentityEvidence is what a signer's identity rests on.
type IdentityEvidence struct {
	Method    string    `json:"method"`              // how identity was checked: id_card_on_camera, face_match, identity_verifier, …
	CheckedBy string    `json:"checked_by"`          // who checked: the staff member's name, or the verification service's
	At        time.Time `json:"at"`                  // when
	Ref       string    `json:"ref"`                 // Parley's reference of the check ("case-check-12") or the service's
	IDScheme  string    `json:"id_scheme,omitempty"` // id_card, uscc, lawyer_licence, or "" when no identifier is known
	IDHash    string    `json:"id_hash,omitempty"`   // "<TAG>-SHA256-<hex>" (IdentifierHash); "" when no identifier is known
}

var schemeTag = map[string]string{"id_card": "IDC", "uscc": "USCC", "lawyer_licence": "LAW"}

// IdentifierHash returns the dnQualifier value for a person's identifier in one case:
// "<TAG>-SHA256-" + hex(SHA-256("parley-id-v1:" + scheme + ":" + caseNumber + ":" + normalised id)), TAG being
// IDC, USCC or LAW. The identifier is normalised by removing spaces and upper-casing (an ID card's final X, the
// letters of a credit code). The case number salts the hash so that one person's certificates in two cases cannot
// be linked by it.
func IdentifierHash(scheme, caseNumber, id string) string {
	norm := strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, id))
	tag := schemeTag[scheme]
	if tag == "" {
		tag = "ID"
	}
	sum := sha256.Sum256([]byte("parley-id-v1:" + scheme + ":" + caseNumber + ":" + norm))
	return tag + "-SHA256-" + strings.ToUpper(hex.EncodeToString(sum[:]))
}

func evidenceValue(v string) string {
	return strings.Map(func(r rune) rune {
		if r == ';' || r == '=' || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, v)
}

// description renders the evidence for the subject's description attribute.
func (e *IdentityEvidence) description() string {
	return fmt.Sprintf("parley-identity-v1; method=%s; checked-by=%s; at=%s; ref=%s", evidenceValue(e.Method), evidenceValue(e.CheckedBy),
		e.At.UTC().Format(time.RFC3339), evidenceValue(e.Ref))
}

// attributes returns the subject attributes that carry the evidence.
func (e *IdentityEvidence) attributes() []pkix.AttributeTypeAndValue {
	if e == nil {
		return nil
	}
	out := []pkix.AttributeTypeAndValue{{Type: oidDescription, Value: e.description()}}
	if e.IDHash != "" {
		out = append(out, pkix.AttributeTypeAndValue{Type: oidDNQualifier, Value: e.IDHash})
	}
	return out
}

// IdentityOf reads the identity evidence back from a certificate Issue made, or nil when it names none.
func IdentityOf(c *x509.Certificate) *IdentityEvidence {
	var e *IdentityEvidence
	for _, a := range c.Subject.Names {
		v, _ := a.Value.(string)
		switch {
		case a.Type.Equal(oidDescription) && strings.HasPrefix(v, "parley-identity-v1;"):
			if e == nil {
				e = &IdentityEvidence{}
			}
			for _, part := range strings.Split(v, ";")[1:] {
				k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
				switch k {
				case "method":
					e.Method = val
				case "checked-by":
					e.CheckedBy = val
				case "at":
					e.At, _ = time.Parse(time.RFC3339, val)
				case "ref":
					e.Ref = val
				}
			}
		case a.Type.Equal(oidDNQualifier):
			if e == nil {
				e = &IdentityEvidence{}
			}
			e.IDHash = v
			for scheme, tag := range schemeTag {
				if strings.HasPrefix(v, tag+"-SHA256-") {
					e.IDScheme = scheme
				}
			}
		}
	}
	return e
}
