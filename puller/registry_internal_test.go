package puller

import (
	"errors"
	"net/netip"
	"testing"
)

// The address check refuses metadata addresses however they are written, and lets
// ordinary ones through, NAT64 forms of public addresses included.
func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		refused bool
	}{
		{"169.254.169.254", true}, {"fe80::1", true}, {"0.0.0.0", true}, {"::", true},
		{"168.63.129.16", true}, {"100.100.100.200", true}, {"fd00:ec2::254", true},
		{"::ffff:169.254.169.254", true}, {"64:ff9b::a9fe:a9fe", true}, {"64:ff9b::a83f:8110", true},
		{"64:ff9b:1:a9fe:a9:fe00::", true}, {"2002:a9fe:a9fe::1", true}, {"::a9fe:a9fe", true},
		{"10.0.0.5", false}, {"192.168.1.10", false}, {"127.0.0.1", false}, {"::1", false},
		{"8.8.8.8", false}, {"64:ff9b::808:808", false}, {"64:ff9b::a00:5", false},
		{"2002:808:808::1", false}, {"2001:db8::1", false}, {"fd12:3456::1", false},
	} {
		err := checkAddr(netip.MustParseAddr(tc.addr))
		if got := errors.Is(err, ErrForbiddenAddress); got != tc.refused {
			t.Errorf("%s: refused=%v (%v), want %v", tc.addr, got, err, tc.refused)
		}
	}
}
