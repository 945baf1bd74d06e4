package domain

import (
	"crypto/sha1"
	"encoding/hex"
)

// applicationNamespace is the UUID namespace of application stream ids. Never change it:
// stored application ids were derived from it.
var applicationNamespace = [16]byte{
	0xe4, 0xa3, 0xd9, 0xa1, 0xc8, 0xf0, 0x4c, 0x03, 0x8f, 0x1d, 0x40, 0xe4, 0x8d, 0x40, 0xcd, 0x18,
} // e4a3d9a1-c8f0-4c03-8f1d-40e48d40cd18

// ApplicationStreamID is the id of the one application a candidate may send to a job: a
// name-based UUID (version 5, RFC 9562) of jobID + "\x00" + candidateID in a fixed
// namespace. Appending a second application.submitted to that stream fails on the event
// store's (stream_id, stream_version) uniqueness, with no read-then-write race.
func ApplicationStreamID(jobID, candidateID string) string {
	return uuidV5(applicationNamespace, jobID+"\x00"+candidateID)
}

// uuidV5 computes a name-based SHA-1 UUID as RFC 9562 section 5.5 describes.
func uuidV5(namespace [16]byte, name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
