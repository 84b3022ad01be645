package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// API token scopes: what a token of `handoff serve` may do. Admin implies
// every other.
const (
	ScopeSubmit = "submit"
	ScopeRead   = "read"
	ScopeCancel = "cancel"
	ScopeAdmin  = "admin"
)

// Scopes lists every scope, in the order help text names them.
var Scopes = []string{ScopeSubmit, ScopeRead, ScopeCancel, ScopeAdmin}

// TokenPrefix starts every API token, so that a token is recognisable
// in a leaked file (and by secret scanners).
const TokenPrefix = "hnd_"

var (
	// ErrBadToken is returned by Authenticate for a token that is
	// unknown, malformed or revoked.
	ErrBadToken = errors.New("unknown or revoked API token")
	// ErrTokenNotFound is returned by RevokeToken for a name or ID no live
	// token has.
	ErrTokenNotFound = errors.New("no such API token")
)

// Token is an API token as stored: never the token itself.
type Token struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Scopes     []string  `json:"scopes"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Allows reports whether the token holds scope (admin holds all).
func (t Token) Allows(scope string) bool {
	return slices.Contains(t.Scopes, scope) || slices.Contains(t.Scopes, ScopeAdmin)
}

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CreateToken makes a token named name with the given scopes and returns
// it, in clear, with its record: the only time the token is seen. Only its
// SHA-256 is stored.
func (s *Store) CreateToken(ctx context.Context, name string, scopes []string) (string, Token, error) {
	if !tokenName.MatchString(name) {
		return "", Token{}, fmt.Errorf("token name %q is not usable: use 1-64 letters, digits, '.', '_' or '-'", name)
	}
	if len(scopes) == 0 {
		return "", Token{}, fmt.Errorf("a token needs at least one scope (%s)", strings.Join(Scopes, ", "))
	}
	var clean []string
	for _, sc := range scopes {
		sc = strings.TrimSpace(sc)
		if !slices.Contains(Scopes, sc) {
			return "", Token{}, fmt.Errorf("scope %q is not one of %s", sc, strings.Join(Scopes, ", "))
		}
		if !slices.Contains(clean, sc) {
			clean = append(clean, sc)
		}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Token{}, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	t := Token{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Scopes: clean, CreatedAt: time.Now()}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO handoff_token (id, name, scopes, hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		t.ID, t.Name, strings.Join(clean, ","), tokenHash(secret), t.CreatedAt.UnixMilli())
	if err != nil && isUniqueViolation(err) {
		return "", Token{}, fmt.Errorf("a live token is named %s already; revoke it first or choose another name", name)
	}
	if err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the live token whose hash is secret's and notes
// its use (at most once a minute). The stored hash is compared with
// secret's in constant time.
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return Token{}, ErrBadToken
	}
	want := tokenHash(secret)
	var (
		t                  Token
		hash, scopes       string
		created, used, rev sql.NullInt64
	)
	err := s.DB.QueryRowContext(ctx, `SELECT id, name, scopes, hash, created_at, last_used_at, revoked_at FROM handoff_token WHERE hash = $1`, want).
		Scan(&t.ID, &t.Name, &scopes, &hash, &created, &used, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrBadToken
	}
	if err != nil {
		return Token{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(want)) != 1 || rev.Valid {
		return Token{}, ErrBadToken
	}
	t.Scopes, t.CreatedAt, t.LastUsedAt = strings.Split(scopes, ","), fromMS(created), fromMS(used)
	now := time.Now()
	if now.Sub(t.LastUsedAt) > time.Minute {
		if _, err := s.DB.ExecContext(ctx, `UPDATE handoff_token SET last_used_at = $1 WHERE id = $2`, now.UnixMilli(), t.ID); err != nil {
			return Token{}, err
		}
	}
	return t, nil
}

// Tokens lists every token, revoked ones too, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM handoff_token ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var (
			t                  Token
			scopes             string
			created, used, rev sql.NullInt64
		)
		if err := rows.Scan(&t.ID, &t.Name, &scopes, &created, &used, &rev); err != nil {
			return nil, err
		}
		t.Scopes, t.CreatedAt, t.LastUsedAt, t.RevokedAt = strings.Split(scopes, ","), fromMS(created), fromMS(used), fromMS(rev)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the live token with that name or ID: it stops
// working at once. It returns ErrTokenNotFound when no live token has it.
func (s *Store) RevokeToken(ctx context.Context, nameOrID string) error {
	r, err := s.DB.ExecContext(ctx, `UPDATE handoff_token SET revoked_at = $1 WHERE (name = $2 OR id = $2) AND revoked_at IS NULL`,
		time.Now().UnixMilli(), nameOrID)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no live token is named or has the ID %q (list them with `handoff token list`)", ErrTokenNotFound, nameOrID)
	}
	return nil
}

// LiveToken returns the token with that ID while it is live, or
// ErrBadToken once it is revoked (or was never made): what a session
// opened with the token checks on each request.
func (s *Store) LiveToken(ctx context.Context, id string) (Token, error) {
	var (
		t                  Token
		scopes             string
		created, used, rev sql.NullInt64
	)
	err := s.DB.QueryRowContext(ctx, `SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM handoff_token WHERE id = $1`, id).
		Scan(&t.ID, &t.Name, &scopes, &created, &used, &rev)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && rev.Valid) {
		return Token{}, ErrBadToken
	}
	if err != nil {
		return Token{}, err
	}
	t.Scopes, t.CreatedAt, t.LastUsedAt = strings.Split(scopes, ","), fromMS(created), fromMS(used)
	return t, nil
}
