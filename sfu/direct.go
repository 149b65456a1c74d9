package sfu

import (
	"net/netip"
	"reflect"
	"unsafe"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// The direct send path.
//
// A forwarded packet written through Pion passes five layers before the socket (the
// writer future, the SRTP session and its lock, the mux endpoint, ice.Conn, the UDP mux's
// per-write address bookkeeping) and costs one sendto of its own. In a fan-out those
// layers were 28 % of the server's CPU and the system calls another third (issue 15's
// profile of 1 → 250). On the direct path a down track encrypts the packet itself, with
// its own SRTP context holding the same keys Pion derived from the subscriber transport's
// DTLS handshake, into a buffer of the forwarding loop's sendBatch; when the loop has
// written the packet to every subscriber it hands the whole batch to the kernel in one
// sendmmsg from the socket of the transport's selected candidate pair.
//
// What stays with Pion: DTLS, ICE (connectivity checks, consent, pair selection), RTCP in
// both directions, retransmissions, and everything about a transport whose route is not a
// plain UDP host socket of ours (ICE-TCP, a socket the registry does not know, a route
// not yet known). Header encryption (cryptex, RFC 9335) is applied as Pion applies it:
// the down track's context gets the transport's outbound cryptex mode. Pion's own SRTP context for the stream is
// kept in step: a down track's first packet goes through Pion, and then one packet in
// directSyncEvery, so Pion's rollover-counter guess (good over gaps below 2^15 sequence
// numbers) stays right for the packets it still sends (retransmissions, a fall back when
// the route goes). The down track's own context starts from the rollover counter the
// down track tracks itself (DownTrack.roc), so a route found mid-stream encrypts as Pion
// would.
//
// Pion v4.2.26 does not export the DTLS connection of a DTLSTransport, which the SRTP
// keys are exported from (RFC 5764 §4.2). dtlsConnOf reads it by reflection, read-only;
// if a later Pion renames the field, no route is made and every packet goes through Pion
// as before (TestDirectRoutes fails, so the upgrade notices).

// directSyncEvery is how often (in packets per down track) a packet on a direct route
// is sent through Pion instead, to keep Pion's SRTP state for the stream current.
const directSyncEvery = 1 << 14

// directSlot is the size of one buffer of a sendBatch: an RTP packet as received (at
// most a typical MTU) plus its SRTP tag; larger packets go through Pion.
const directSlot = 1600

// directRoute is where a subscriber transport's media goes on the direct path: the
// socket and peer of its selected candidate pair and its outbound SRTP keys.
type directRoute struct {
	sock    *rawUDPConn
	peer    netip.AddrPort
	addr    kernelAddr
	profile srtp.ProtectionProfile
	cryptex srtp.CryptexMode
	key     []byte
	salt    []byte
	gcm     *gcmKeys // the session keys, for the AES-GCM profiles (srtpgcm.go); else nil
}

// same reports whether o sends the same way as r.
func (r *directRoute) same(o *directRoute) bool {
	return r.sock == o.sock && r.peer == o.peer && r.profile == o.profile && r.cryptex == o.cryptex &&
		string(r.key) == string(o.key) && string(r.salt) == string(o.salt)
}

// context is a new SRTP context for sending on r.
func (r *directRoute) context() (*srtp.Context, error) {
	if r.cryptex == srtp.CryptexModeDisabled {
		return srtp.CreateContext(r.key, r.salt, r.profile)
	}
	return srtp.CreateContext(r.key, r.salt, r.profile, srtp.Cryptex(r.cryptex))
}

// routeFor works out the direct route of a connected subscriber transport, or nil when
// its media must go through Pion.
func (e *Engine) routeFor(pc *webrtc.PeerConnection) *directRoute {
	if e.sockets == nil || pc == nil {
		return nil
	}
	dt := pc.SCTP().Transport()
	if dt == nil || dt.State() != webrtc.DTLSTransportStateConnected {
		return nil // State takes the transport's lock: the connection read below was stored under it
	}
	pair, err := dt.ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil ||
		pair.Local.Protocol != webrtc.ICEProtocolUDP || pair.Local.Typ == webrtc.ICECandidateTypeRelay {
		return nil
	}
	remote, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return nil // an unresolved mDNS name: Pion knows where it went
	}
	local, err := netip.ParseAddr(pair.Local.Address)
	if err != nil {
		return nil
	}
	sock := e.sockets.find(netip.AddrPortFrom(local, pair.Local.Port))
	if sock == nil {
		return nil
	}
	conn, cryptex, ok := dtlsConnOf(dt)
	if !ok {
		return nil
	}
	dp, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return nil
	}
	profile, ok := srtpProfile(dp)
	if !ok {
		return nil
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return nil
	}
	isClient, ok := stateIsClient(&state)
	if !ok {
		return nil
	}
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, isClient); err != nil {
		return nil
	}
	r := &directRoute{sock: sock, peer: netip.AddrPortFrom(remote.Unmap(), pair.Remote.Port), profile: profile,
		cryptex: cryptex, key: cfg.Keys.LocalMasterKey, salt: cfg.Keys.LocalMasterSalt}
	if !r.addr.set(r.peer, sock) {
		return nil
	}
	if r.gcm, err = newGCMKeys(profile, r.key, r.salt); err != nil {
		return nil
	}
	if r.gcm == nil { // AES-CM-HMAC: the keys must make a Pion context
		if _, err := r.context(); err != nil {
			return nil
		}
	}
	return r
}

// srtpProfile is the SRTP profile of a negotiated DTLS-SRTP one (Pion's own mapping is
// unexported).
func srtpProfile(p dtls.SRTPProtectionProfile) (srtp.ProtectionProfile, bool) {
	switch p {
	case dtls.SRTP_AEAD_AES_128_GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, true
	case dtls.SRTP_AEAD_AES_256_GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, true
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, true
	}
	return 0, false // the NULL cipher is never offered; anything else is unknown here
}

// dtlsConnOf is the DTLS connection of a connected DTLSTransport and the cryptex mode
// (RFC 9335) it sends with. Pion writes both under the transport's lock, which the
// caller took and released (State) after they were set.
func dtlsConnOf(dt *webrtc.DTLSTransport) (*dtls.Conn, srtp.CryptexMode, bool) {
	v := reflect.ValueOf(dt).Elem()
	f := v.FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*dtls.Conn]() {
		return nil, 0, false
	}
	conn := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*dtls.Conn) //nolint:gosec // read-only, see the package comment above
	if conn == nil {
		return nil, 0, false
	}
	cx := v.FieldByName("localCryptexMode")
	if !cx.IsValid() || cx.Type() != reflect.TypeFor[srtp.CryptexMode]() {
		return nil, 0, false
	}
	switch m := srtp.CryptexMode(cx.Int()); m {
	case srtp.CryptexModeDisabled, srtp.CryptexModeEnabled, srtp.CryptexModeRequired:
		return conn, m, true
	}
	return nil, 0, false
}

// stateIsClient is the DTLS role of a connection's state: the keys each side writes with
// depend on it (RFC 5764 §4.2).
func stateIsClient(s *dtls.State) (bool, bool) {
	f := reflect.ValueOf(s).Elem().FieldByName("isClient")
	if !f.IsValid() || f.Kind() != reflect.Bool {
		return false, false
	}
	return f.Bool(), true
}
