package catalog

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Setting keys administrators change at runtime. A stored setting overrides
// the config file until it is removed.
const (
	SettingPlacement   = "seedbox.placement"    // most-free | round-robin | forced
	SettingForceVolume = "seedbox.force_volume" // the volume every new upload goes to, with placement forced
)

// Settings returns every stored runtime setting.
func (c *Catalog) Settings(ctx context.Context) (map[string]string, error) {
	var rows []struct{ Key, Value string }
	if err := c.read(ctx).Raw("SELECT key, value FROM settings ORDER BY key").Scan(&rows).Error; err != nil {
		return nil, dbErr("settings", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Key] = r.Value
	}
	return out, nil
}

// SetSettings stores several settings in one transaction; an empty value
// removes the setting (back to the config file's value).
func (c *Catalog) SetSettings(ctx context.Context, kv map[string]string) error {
	for k := range kv {
		if strings.TrimSpace(k) == "" || len(k) > 128 {
			return fmt.Errorf("set settings: %w", invalid("key", "must be 1-128 characters"))
		}
	}
	err := c.tx(ctx, func(tx *gorm.DB) error {
		t := now()
		for k, v := range kv {
			var err error
			if v == "" {
				err = tx.Exec("DELETE FROM settings WHERE key = ?", k).Error
			} else {
				err = tx.Exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, t).Error
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return dbErr("set settings", err)
}
