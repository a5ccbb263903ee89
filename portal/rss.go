package portal

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

// rssItems is how many new torrents a feed carries.
const rssItems = 50

// RSS 2.0 (https://www.rssboard.org/rss-specification).
type rssFeed struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	LastBuildDate string    `xml:"lastBuildDate,omitempty"`
	TTL           int       `xml:"ttl"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string       `xml:"title"`
	Link        string       `xml:"link"`
	Description string       `xml:"description,omitempty"`
	Category    string       `xml:"category,omitempty"`
	GUID        rssGUID      `xml:"guid"`
	PubDate     string       `xml:"pubDate"`
	Enclosure   rssEnclosure `xml:"enclosure"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// rssEnclosure links the .torrent; length is the content's size (the
// .torrent's own size is not known without building it).
type rssEnclosure struct {
	URL    string `xml:"url,attr"`
	Length int64  `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

// rss is GET /rss?token=T[&category=C]: the newest torrents, whose
// enclosures download the .torrent with the same token, so a client's RSS
// downloader fetches them without a session.
func (a *App) rss(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.QueryParam("token")
	if token == "" {
		return echo.NewHTTPError(http.StatusUnauthorized, "add ?token= with one of your API tokens (see your account page)")
	}
	if _, err := a.opts.Catalog.UserByToken(ctx, token); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return echo.NewHTTPError(http.StatusUnauthorized, "invalid or revoked token")
		}
		return err
	}
	category := strings.TrimSpace(c.QueryParam("category"))
	list, _, err := a.opts.Catalog.ListTorrents(ctx, catalog.ListQuery{Category: category, Sort: "new", PerPage: rssItems})
	if err != nil {
		return err
	}
	title := "Seedbed: new torrents"
	if category != "" {
		title += " in " + category
	}
	feed := rssFeed{Version: "2.0", Channel: rssChannel{Title: title, Link: a.opts.PublicURL + "/",
		Description: "Files newly shared on Seedbed", TTL: 15}}
	if len(list) > 0 {
		feed.Channel.LastBuildDate = list[0].CreatedAt.UTC().Format(time.RFC1123Z)
	}
	tq := "?token=" + url.QueryEscape(token)
	for _, t := range list {
		feed.Channel.Items = append(feed.Channel.Items, rssItem{
			Title: t.Title, Link: a.pageURL(t.InfoHash), Description: t.Description, Category: t.Category,
			GUID:      rssGUID{Value: t.InfoHash},
			PubDate:   t.CreatedAt.UTC().Format(time.RFC1123Z),
			Enclosure: rssEnclosure{URL: a.torrentURL(t.InfoHash) + tq, Length: t.Size, Type: "application/x-bittorrent"},
		})
	}
	out, err := xml.MarshalIndent(feed, "", " ")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=60")
	return c.Blob(http.StatusOK, "application/rss+xml; charset=utf-8", append([]byte(xml.Header), out...))
}
