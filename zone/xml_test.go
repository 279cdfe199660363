package zone_test

import (
	"encoding/xml"
	"testing"

	"github.com/oneha/oneha/zone"
)

func TestZoneXML(t *testing.T) {
	tests := []struct {
		name string
		zone zone.Zone
		want string
	}{
		{
			name: "no servers",
			zone: zone.Zone{ID: 0, Name: "OpenNebula", State: 0, Endpoint: "http://localhost:2633/RPC2"},
			want: `<ZONE><ID>0</ID><NAME>OpenNebula</NAME><STATE>0</STATE><TEMPLATE><ENDPOINT><![CDATA[http://localhost:2633/RPC2]]></ENDPOINT></TEMPLATE><SERVER_POOL></SERVER_POOL></ZONE>`,
		},
		{
			name: "two servers",
			zone: zone.Zone{ID: 0, Name: "OpenNebula", Endpoint: "http://localhost:2633/RPC2", Servers: []zone.Server{
				{ID: 0, Name: "server-0", Endpoint: "http://192.168.150.1:2633/RPC2"},
				{ID: 1, Name: "server-1", Endpoint: "http://192.168.150.2:2633/RPC2"},
			}},
			want: `<ZONE><ID>0</ID><NAME>OpenNebula</NAME><STATE>0</STATE><TEMPLATE><ENDPOINT><![CDATA[http://localhost:2633/RPC2]]></ENDPOINT></TEMPLATE><SERVER_POOL>` +
				`<SERVER><ENDPOINT><![CDATA[http://192.168.150.1:2633/RPC2]]></ENDPOINT><ID>0</ID><NAME><![CDATA[server-0]]></NAME></SERVER>` +
				`<SERVER><ENDPOINT><![CDATA[http://192.168.150.2:2633/RPC2]]></ENDPOINT><ID>1</ID><NAME><![CDATA[server-1]]></NAME></SERVER>` +
				`</SERVER_POOL></ZONE>`,
		},
		{
			name: "escaping",
			zone: zone.Zone{ID: 3, Name: `a<b>&"c'`, State: 1, Endpoint: "http://x:1/]]>", Servers: []zone.Server{
				{ID: 7, Name: "n]]>m\x01", Endpoint: "http://h:2/p"},
			}},
			want: `<ZONE><ID>3</ID><NAME>a&lt;b&gt;&amp;&quot;c&apos;</NAME><STATE>1</STATE><TEMPLATE><ENDPOINT><![CDATA[http://x:1/]]]]><![CDATA[>]]></ENDPOINT></TEMPLATE><SERVER_POOL>` +
				`<SERVER><ENDPOINT><![CDATA[http://h:2/p]]></ENDPOINT><ID>7</ID><NAME><![CDATA[n]]]]><![CDATA[>m` + "\uFFFD" + `]]></NAME></SERVER>` +
				`</SERVER_POOL></ZONE>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.zone.XML()
			if got != tt.want {
				t.Fatalf("XML:\n got %s\nwant %s", got, tt.want)
			}
			// It parses back to the same values (what goca and the Ruby
			// bindings do with it).
			var back struct {
				ID       int    `xml:"ID"`
				Name     string `xml:"NAME"`
				State    int    `xml:"STATE"`
				Endpoint string `xml:"TEMPLATE>ENDPOINT"`
				Servers  []struct {
					ID       int    `xml:"ID"`
					Name     string `xml:"NAME"`
					Endpoint string `xml:"ENDPOINT"`
				} `xml:"SERVER_POOL>SERVER"`
			}
			if err := xml.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			if back.ID != tt.zone.ID || back.Name != tt.zone.Name || back.Endpoint != tt.zone.Endpoint || len(back.Servers) != len(tt.zone.Servers) {
				t.Fatalf("parsed %+v from %+v", back, tt.zone)
			}
			for i, s := range back.Servers {
				want := tt.zone.Servers[i]
				if s.ID != want.ID || s.Endpoint != want.Endpoint || (s.Name != want.Name && tt.name != "escaping") {
					t.Fatalf("server %d parsed %+v, want %+v", i, s, want)
				}
			}
		})
	}
}

func TestPoolXML(t *testing.T) {
	zs := []zone.Zone{
		{ID: 0, Name: "A", Endpoint: "http://a:1/RPC2"},
		{ID: 1, Name: "B", Endpoint: "http://b:1/RPC2", Servers: []zone.Server{{ID: 0, Name: "s", Endpoint: "http://s:2/RPC2"}}},
	}
	want := `<ZONE_POOL>` + zs[0].XML() + zs[1].XML() + `</ZONE_POOL>`
	if got := zone.PoolXML(zs); got != want {
		t.Fatalf("PoolXML:\n got %s\nwant %s", got, want)
	}
	if got := zone.PoolXML(nil); got != `<ZONE_POOL></ZONE_POOL>` {
		t.Fatalf("empty pool: %s", got)
	}
}
