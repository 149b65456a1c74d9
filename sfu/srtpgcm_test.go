package sfu

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// TestGCMSenderMatchesPion: our AES-GCM sender writes, byte for byte, what Pion's SRTP
// context writes for the same keys and stream — both key sizes, with and without header
// extensions and header encryption (cryptex), across a sequence-number wrap — and Pion's
// receiving context decrypts it back to the packet.
func TestGCMSenderMatchesPion(t *testing.T) {
	for _, profile := range []srtp.ProtectionProfile{srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAeadAes256Gcm} {
		for _, cryptex := range []srtp.CryptexMode{srtp.CryptexModeDisabled, srtp.CryptexModeEnabled} {
			for _, ext := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/cryptex=%d/ext=%v", profile, cryptex, ext), func(t *testing.T) {
					gcmMatchesPion(t, profile, cryptex, ext)
				})
			}
		}
	}
}

func gcmMatchesPion(t *testing.T, profile srtp.ProtectionProfile, cryptex srtp.CryptexMode, ext bool) {
	kl, _ := profile.KeyLen()
	sl, _ := profile.SaltLen()
	key, salt := make([]byte, kl), make([]byte, sl)
	for i := range key {
		key[i] = byte(3*i + 1)
	}
	for i := range salt {
		salt[i] = byte(0xa0 + i)
	}
	opts := []srtp.ContextOption{}
	if cryptex != srtp.CryptexModeDisabled {
		opts = append(opts, srtp.Cryptex(cryptex))
	}
	pionTx, err := srtp.CreateContext(key, salt, profile, opts...)
	if err != nil {
		t.Fatal(err)
	}
	pionRx, err := srtp.CreateContext(key, salt, profile, opts...)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := newGCMKeys(profile, key, salt)
	if err != nil || keys == nil {
		t.Fatalf("keys: %v %v", keys, err)
	}
	g, err := keys.sender(cryptex != srtp.CryptexModeDisabled)
	if err != nil {
		t.Fatal(err)
	}
	const ssrc, roc0 = 0x5eed1234, 7
	pionTx.SetROC(ssrc, roc0)
	pionRx.SetROC(ssrc, roc0)
	roc := uint32(roc0)
	seq := uint16(65530)
	for i := 0; i < 12; i++ {
		hdr := rtp.Header{Version: 2, Marker: i%3 == 0, PayloadType: 111, SequenceNumber: seq,
			Timestamp: 960 * uint32(i), SSRC: ssrc}
		if ext {
			_ = hdr.SetExtension(1, []byte{0x80 | byte(i)})
		}
		payload := bytes.Repeat([]byte{byte(i), 0x55}, 40+i)
		plain := make([]byte, hdr.MarshalSize()+len(payload))
		hl, _ := hdr.MarshalTo(plain)
		copy(plain[hl:], payload)

		want, err := pionTx.EncryptRTP(nil, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(plain), len(plain)+srtpOverhead)
		copy(buf, plain)
		got, ok := g.seal(buf, hl, &hdr, roc)
		if !ok {
			t.Fatalf("seq %d: not sealed", seq)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("seq %d roc %d: our SRTP packet differs from Pion's\n got %x\nwant %x", seq, roc, got, want)
		}
		dec, err := pionRx.DecryptRTP(nil, got, nil)
		if err != nil {
			t.Fatalf("seq %d: Pion cannot decrypt ours: %v", seq, err)
		}
		if !bytes.Equal(dec, plain) {
			t.Fatalf("seq %d: decrypted %x, want %x", seq, dec, plain)
		}
		seq++
		if seq == 0 {
			roc++
		}
	}
}

// TestGCMSenderRefuses: a header it does not handle goes back to Pion's context.
func TestGCMSenderRefuses(t *testing.T) {
	keys, err := newGCMKeys(srtp.ProtectionProfileAeadAes128Gcm, make([]byte, 16), make([]byte, 12))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := keys.sender(false)
	hdr := rtp.Header{Version: 2, SSRC: 1, CSRC: []uint32{2}}
	pkt := make([]byte, hdr.MarshalSize()+10, 100)
	hl, _ := hdr.MarshalTo(pkt)
	if _, ok := g.seal(pkt, hl, &hdr, 0); ok {
		t.Fatal("sealed a packet with contributing sources")
	}
	hdr = rtp.Header{Version: 2, SSRC: 1}
	pkt = make([]byte, 30) // no room for the tag
	hl, _ = hdr.MarshalTo(pkt)
	if _, ok := g.seal(pkt, hl, &hdr, 0); ok {
		t.Fatal("sealed without room for the tag")
	}
	if k, err := newGCMKeys(srtp.ProtectionProfileAes128CmHmacSha1_80, make([]byte, 16), make([]byte, 14)); k != nil || err != nil {
		t.Fatalf("AES-CM-HMAC: %v %v, want none", k, err)
	}
	if _, err := newGCMKeys(srtp.ProtectionProfileAeadAes128Gcm, make([]byte, 15), make([]byte, 12)); err == nil {
		t.Fatal("a 15-byte key was accepted")
	}
}
