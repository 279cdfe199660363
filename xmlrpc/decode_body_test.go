package xmlrpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOversizeBodyIsTooLargeWhateverItHolds: the body is read before it
// is parsed, so a body over the limit is ErrTooLarge even when its first
// bytes are already malformed (the streaming decoder this one replaced
// answered ErrMalformed when it failed within its first 4 KiB buffer).
func TestOversizeBodyIsTooLargeWhateverItHolds(t *testing.T) {
	for _, head := range []string{"hello", "<methodCall><nil/>", call("m", "<nil/>")} {
		body := head + strings.Repeat(" ", 1<<16)
		if _, _, err := DecodeCall(strings.NewReader(body), 1<<16); !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed) {
			t.Errorf("%q…: err = %v, want only ErrTooLarge", head, err)
		}
		if _, err := DecodeResponse(strings.NewReader(body), 1<<16); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%q… as a response: err = %v, want ErrTooLarge", head, err)
		}
	}
}

// TestRepeatedCharsetDeclarationsAreBounded: each latin1 declaration
// converts the rest of the input again (as encoding/xml stacks charset
// readers), which doubles every non-ASCII byte; the converted input may
// not outgrow twice the body limit.
func TestRepeatedCharsetDeclarationsAreBounded(t *testing.T) {
	decl := `<?xml encoding="latin1"?>`
	ok := decl + decl + "<methodCall><methodName>\xe9</methodName></methodCall>"
	method, _, err := DecodeCall(strings.NewReader(ok), 0)
	if err != nil || method != "\u00c3\u00a9" {
		t.Fatalf("two declarations: %q, %v; want é converted twice", method, err)
	}
	bomb := strings.Repeat(decl, 40) + "<methodCall><methodName>\xe9</methodName></methodCall>"
	if _, _, err := DecodeCall(strings.NewReader(bomb), 1<<16); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("40 declarations: err = %v, want ErrTooLarge", err)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// TestBodyReadErrorIsMalformed: a failed read is ErrMalformed wrapping
// the reader's error (so a Budget's ErrBusy still shows).
func TestBodyReadErrorIsMalformed(t *testing.T) {
	cause := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("<methodCall>"), failingReader{cause})
	if _, _, err := DecodeCall(r, 0); !errors.Is(err, ErrMalformed) || !errors.Is(err, cause) {
		t.Fatalf("err = %v, want ErrMalformed wrapping the read error", err)
	}
}

// TestDecodedValuesOwnTheirMemory: values keep their content after the
// decoder's buffers are reused by other calls, concurrently too.
func TestDecodedValuesOwnTheirMemory(t *testing.T) {
	body := func(i int) string {
		return call(fmt.Sprintf("m%d", i), fmt.Sprintf("<string>s&lt;%d</string>", i), fmt.Sprintf("plain%d", i),
			fmt.Sprintf("<base64>%s</base64>", "aGVsbG8="), fmt.Sprintf("<struct><member><name>k%d</name><value>v%d</value></member></struct>", i, i),
			"<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>")
	}
	want := func(i int) []any {
		return []any{fmt.Sprintf("s<%d", i), fmt.Sprintf("plain%d", i), []byte("hello"),
			map[string]any{fmt.Sprintf("k%d", i): fmt.Sprintf("v%d", i)}, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			var kept [][]any
			for i := range 50 {
				_, params, err := DecodeCall(strings.NewReader(body(g*100+i)), 0)
				if err != nil {
					errs <- err
					return
				}
				kept = append(kept, params)
			}
			for i, params := range kept {
				if !equal(params, want(g*100+i)) {
					errs <- fmt.Errorf("call %d: got %#v", g*100+i, params)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestDecodeReadsInChunks: no Read asks for more than readChunk bytes, so
// a Budget charges a body as it arrives.
func TestDecodeReadsInChunks(t *testing.T) {
	r := &chunkCheck{r: bytes.NewReader([]byte(call("m", "<string>"+strings.Repeat("x", 20000)+"</string>")))}
	if _, _, err := DecodeCall(r, 0); err != nil {
		t.Fatal(err)
	}
	if r.biggest > readChunk {
		t.Fatalf("a Read asked for %d bytes", r.biggest)
	}
}

type chunkCheck struct {
	r       io.Reader
	biggest int
}

func (c *chunkCheck) Read(p []byte) (int, error) {
	c.biggest = max(c.biggest, len(p))
	return c.r.Read(p)
}
