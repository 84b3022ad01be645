package dashboard

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHighlight(t *testing.T) {
	t.Parallel()
	got := string(highlight("package calc // <sum>\nfunc f() string { return \"a<b\" + `x\ny` }\n/* é */", "go"))
	require.Equal(t, `<span class="k">package</span> calc <span class="c">// &lt;sum&gt;</span>`+"\n"+
		`<span class="k">func</span> f() string { <span class="k">return</span> <span class="s">&#34;a&lt;b&#34;</span> + <span class="s">`+"`x\ny`"+`</span> }`+"\n"+
		`<span class="c">/* é */</span>`, got)
	got = string(highlight("def test_x():\n    '''doc'''\n    assert f('a') == 1  # <!>\n", "python"))
	require.Equal(t, `<span class="k">def</span> test_x():`+"\n"+`    <span class="s">&#39;&#39;&#39;doc&#39;&#39;&#39;</span>`+"\n"+
		`    <span class="k">assert</span> f(<span class="s">&#39;a&#39;</span>) == 1  <span class="c"># &lt;!&gt;</span>`+"\n", got)
	require.Equal(t, `x &#34;unterminated`+"\n", string(highlight("x \"unterminated\n", "text")), "an unknown language is only escaped")
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/tasks/x": "/tasks/x", "": "/", "//evil.example/": "/", `/\evil.example`: "/",
		"https://evil.example/": "/", "/?state=QUEUED": "/?state=QUEUED"} {
		require.Equal(t, want, safeNext(in), in)
	}
}
