package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Group is a set of users ("a dormitory") sharing one storage quota.
// QuotaBytes nil means no limit.
type Group struct {
	ID         uint64
	Name       string
	QuotaBytes *int64
	CreatedAt  time.Time
}

type groupRow struct {
	ID         uint64 `gorm:"primaryKey"`
	Name       string
	QuotaBytes *int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (groupRow) TableName() string { return "user_groups" }

func (r *groupRow) group() *Group {
	return &Group{ID: r.ID, Name: r.Name, QuotaBytes: r.QuotaBytes, CreatedAt: utc(r.CreatedAt)}
}

// Usage is what a user and the user's group store and may store. A nil
// quota means none is set: for the user, the caller's default applies; for
// the group, there is no limit. Used counts the active torrents uploaded.
type Usage struct {
	UserQuota  *int64
	UserUsed   int64
	GroupID    uint64 // 0: in no group
	GroupName  string
	GroupQuota *int64
	GroupUsed  int64
	// GroupMembers are the IDs of every user in the group (the user
	// included), whose uploads in progress count against the group quota.
	GroupMembers []uint64
}

func validQuota(q *int64) error {
	if q != nil && *q < 0 {
		return invalid("quota", "must not be negative")
	}
	return nil
}

// CreateGroup adds a group. A name taken in any letter case gives ErrConflict.
func (c *Catalog) CreateGroup(ctx context.Context, name string, quota *int64) (*Group, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return nil, fmt.Errorf("create group: %w", invalid("name", "must be 1-64 characters long"))
	}
	if err := validQuota(quota); err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	t := now()
	row := groupRow{Name: name, QuotaBytes: quota, CreatedAt: t, UpdatedAt: t}
	if err := c.write(ctx).Create(&row).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("create group %q", name), err)
	}
	return row.group(), nil
}

// GroupByName finds a group regardless of letter case.
func (c *Catalog) GroupByName(ctx context.Context, name string) (*Group, error) {
	var row groupRow
	if err := c.read(ctx).Where("lower(name) = lower(?)", name).Take(&row).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("group %q", name), err)
	}
	return row.group(), nil
}

// Groups lists every group by name.
func (c *Catalog) Groups(ctx context.Context) ([]Group, error) {
	var rows []groupRow
	if err := c.read(ctx).Order("lower(name)").Find(&rows).Error; err != nil {
		return nil, dbErr("list groups", err)
	}
	out := make([]Group, len(rows))
	for i := range rows {
		out[i] = *rows[i].group()
	}
	return out, nil
}

// SetGroupQuota changes a group's quota (nil: no limit).
func (c *Catalog) SetGroupQuota(ctx context.Context, groupID uint64, quota *int64) error {
	if err := validQuota(quota); err != nil {
		return fmt.Errorf("set group quota: %w", err)
	}
	res := c.write(ctx).Model(&groupRow{}).Where("id = ?", groupID).
		Updates(map[string]any{"quota_bytes": quota, "updated_at": now()})
	return rowsOrNotFound(res.Error, res.RowsAffected, fmt.Sprintf("set quota of group %d", groupID))
}

// SetUserQuota changes a user's own quota (nil: the configured default).
func (c *Catalog) SetUserQuota(ctx context.Context, userID uint64, quota *int64) error {
	if err := validQuota(quota); err != nil {
		return fmt.Errorf("set user quota: %w", err)
	}
	res := c.write(ctx).Model(&userRow{}).Where("id = ?", userID).
		Updates(map[string]any{"quota_bytes": quota, "updated_at": now()})
	return rowsOrNotFound(res.Error, res.RowsAffected, fmt.Sprintf("set quota of user %d", userID))
}

// SetUserGroup puts a user in a group (nil: in none).
func (c *Catalog) SetUserGroup(ctx context.Context, userID uint64, groupID *uint64) error {
	res := c.write(ctx).Model(&userRow{}).Where("id = ?", userID).
		Updates(map[string]any{"group_id": groupID, "updated_at": now()})
	return rowsOrNotFound(res.Error, res.RowsAffected, fmt.Sprintf("set group of user %d", userID))
}

func rowsOrNotFound(err error, n int64, op string) error {
	if err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

// Usage reports a user's quotas and the bytes of active torrents the user,
// and the user's group, uploaded.
func (c *Catalog) Usage(ctx context.Context, userID uint64) (Usage, error) {
	var u struct {
		QuotaBytes *int64
		GroupID    *uint64
	}
	db := c.read(ctx)
	if err := db.Table("users").Select("quota_bytes, group_id").Where("id = ?", userID).Take(&u).Error; err != nil {
		return Usage{}, dbErr(fmt.Sprintf("usage of user %d", userID), err)
	}
	out := Usage{UserQuota: u.QuotaBytes}
	if err := db.Table("torrents").Select("COALESCE(SUM(size), 0)").
		Where("uploader_id = ? AND state = ?", userID, "active").Scan(&out.UserUsed).Error; err != nil {
		return Usage{}, dbErr("usage of user", err)
	}
	if u.GroupID == nil {
		return out, nil
	}
	var g groupRow
	if err := db.Where("id = ?", *u.GroupID).Take(&g).Error; err != nil {
		return Usage{}, dbErr("usage of group", err)
	}
	out.GroupID, out.GroupName, out.GroupQuota = g.ID, g.Name, g.QuotaBytes
	err := db.Table("torrents").Select("COALESCE(SUM(torrents.size), 0)").
		Joins("JOIN users ON users.id = torrents.uploader_id").
		Where("users.group_id = ? AND torrents.state = ?", g.ID, "active").Scan(&out.GroupUsed).Error
	if err != nil {
		return Usage{}, dbErr("usage of group", err)
	}
	if err := db.Table("users").Where("group_id = ?", g.ID).Order("id").
		Pluck("id", &out.GroupMembers).Error; err != nil {
		return Usage{}, dbErr("members of group", err)
	}
	return out, nil
}

// UserGroupID returns the group a user is in, 0 for none.
func (c *Catalog) UserGroupID(ctx context.Context, userID uint64) (uint64, error) {
	var g *uint64
	if err := c.read(ctx).Table("users").Select("group_id").Where("id = ?", userID).
		Scan(&g).Error; err != nil {
		return 0, dbErr(fmt.Sprintf("group of user %d", userID), err)
	}
	if g == nil {
		return 0, nil
	}
	return *g, nil
}
