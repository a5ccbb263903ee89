// Upload page: pick or drop files or a whole folder. Before any byte is
// sent, the MD5 of the first 10 MiB (spark-md5) and the size ask
// /api/v1/dedupe whether the content is already shared. Otherwise every file
// goes up as a resumable tus upload (tus-js-client) to /api/v1/uploads/;
// the files of a folder share the metadata folder and folder_files. A
// dropped connection is retried, and a reload resumes where it stopped
// (tus-js-client remembers upload URLs in localStorage by fingerprint).
(function () {
  'use strict';
  var form = document.getElementById('upload');
  var drop = document.getElementById('drop');
  var chosen = document.getElementById('chosen');
  var send = document.getElementById('send');
  var bar = document.getElementById('bar');
  var stats = document.getElementById('stats');
  var result = document.getElementById('result');
  var known = document.getElementById('known');
  var csrf = form.dataset.csrf;
  var files = []; // {file, path}, in torrent (sorted path) order
  var PREFIX = 10 * 1024 * 1024;

  function human(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  }
  function duration(s) {
    if (!isFinite(s)) return '…';
    s = Math.round(s);
    var m = Math.floor(s / 60), h = Math.floor(m / 60);
    if (h) return h + ' h ' + (m % 60) + ' min';
    if (m) return m + ' min ' + (s % 60) + ' s';
    return s + ' s';
  }
  function totalSize() { return files.reduce(function (s, f) { return s + f.file.size; }, 0); }
  function setFiles(list) {
    files = list.sort(function (a, b) { return a.path < b.path ? -1 : a.path > b.path ? 1 : 0; });
    chosen.textContent = files.length ? files.length + ' file' + (files.length > 1 ? 's' : '') + ', ' + human(totalSize()) : 'Nothing chosen yet.';
    send.disabled = !files.length;
    known.hidden = true;
    result.hidden = true;
  }
  function fromInput(input) {
    setFiles(Array.prototype.map.call(input.files, function (f) {
      return { file: f, path: f.webkitRelativePath || f.name };
    }));
  }
  document.getElementById('pick-files').addEventListener('change', function (e) { fromInput(e.target); });
  document.getElementById('pick-folder').addEventListener('change', function (e) { fromInput(e.target); });

  // Folders dropped on the page are walked with the entries API.
  function walk(entry, prefix, out) {
    return new Promise(function (resolve) {
      if (entry.isFile) {
        entry.file(function (f) { out.push({ file: f, path: prefix + f.name }); resolve(); }, resolve);
        return;
      }
      var reader = entry.createReader(), all = [];
      (function more() {
        reader.readEntries(function (batch) {
          if (!batch.length) {
            Promise.all(all.map(function (e) { return walk(e, prefix + entry.name + '/', out); })).then(resolve);
            return;
          }
          all = all.concat(Array.prototype.slice.call(batch));
          more();
        }, resolve);
      })();
    });
  }
  ['dragenter', 'dragover'].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('over'); });
  });
  drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
  drop.addEventListener('drop', function (e) {
    e.preventDefault();
    drop.classList.remove('over');
    var out = [], jobs = [];
    Array.prototype.forEach.call(e.dataTransfer.items, function (it) {
      var entry = it.webkitGetAsEntry && it.webkitGetAsEntry();
      if (entry) jobs.push(walk(entry, '', out));
    });
    Promise.all(jobs).then(function () { setFiles(out); });
  });

  // md5Prefix hashes the first 10 MiB of the files' bytes in torrent order,
  // as the server's md5_10m.
  function md5Prefix() {
    var spark = new SparkMD5.ArrayBuffer(), left = PREFIX, i = 0;
    function next() {
      if (left <= 0 || i >= files.length) return Promise.resolve(spark.end());
      var f = files[i++].file, n = Math.min(left, f.size);
      left -= n;
      if (!n) return next();
      return f.slice(0, n).arrayBuffer().then(function (buf) { spark.append(buf); return next(); });
    }
    return next();
  }

  function dedupe() {
    return md5Prefix().then(function (md5) {
      return fetch('/api/v1/dedupe?size=' + totalSize() + '&md5_10m=' + md5, {
        headers: { Accept: 'application/json' }, credentials: 'same-origin'
      });
    }).then(function (r) { return r.ok ? r.json() : { match: false }; });
  }

  function showKnown(t) {
    var a = known.querySelector('a');
    a.href = t.page_url.replace(/^https?:\/\/[^/]+/, '');
    a.textContent = t.title || t.name;
    known.hidden = false;
    document.getElementById('progress').hidden = true;
    location.href = a.getAttribute('href') + '?duplicate=1';
  }

  // folderID names this selection stably, so a reload resumes the same uploads.
  function folderID() {
    var key = files.map(function (f) { return f.path + '\u0000' + f.file.size + '\u0000' + f.file.lastModified; }).join('\n');
    return SparkMD5.hash(key);
  }

  function uploadAll(fields) {
    var total = totalSize(), before = 0, started = performance.now(), startBytes = null;
    var folder = files.length > 1 || files[0].path.indexOf('/') >= 0 ? folderID() : '';
    var outcome = null, i = 0;
    function progress(sent) {
      var done = before + sent;
      if (startBytes === null) startBytes = done; // resumed bytes do not count toward speed
      var secs = (performance.now() - started) / 1000;
      var speed = (done - startBytes) / Math.max(secs, 0.001);
      var pct = total ? done / total * 100 : 100;
      bar.value = pct;
      if (done >= total) {
        stats.textContent = '100% · making the seed link…';
        return;
      }
      stats.textContent = pct.toFixed(1) + '% · ' + human(speed) + '/s · ' +
        (speed > 0 ? duration((total - done) / speed) : '…') + ' left';
    }
    function one() {
      if (i >= files.length) return Promise.resolve(outcome);
      var f = files[i++];
      var meta = { filename: f.path, title: fields.title, category: fields.category, description: fields.description };
      if (folder) { meta.folder = folder; meta.folder_files = String(files.length); }
      return new Promise(function (resolve, reject) {
        var up = new tus.Upload(f.file, {
          endpoint: '/api/v1/uploads/',
          chunkSize: 16 * 1024 * 1024,
          retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
          metadata: meta,
          // One key per file: a creation retried after its reply was lost
          // gets the upload the first try made (see the OpenAPI document).
          headers: { 'X-CSRF-Token': csrf, 'Seedbed-Upload-Key': uploadKey() },
          storeFingerprintForResuming: true,
          removeFingerprintOnSuccess: true,
          fingerprint: function (file) {
            return Promise.resolve(['seedbed', folder, f.path, file.size, file.lastModified].join('|'));
          },
          onProgress: function (sent) { progress(sent); },
          onAfterResponse: function (req, res) {
            var ih = res.getHeader('Seedbed-Info-Hash');
            if (ih) outcome = { info_hash: ih, duplicate: res.getHeader('Seedbed-Duplicate') === 'true' };
          },
          onError: function (err) { reject(err); },
          onSuccess: function () { before += f.file.size; resolve(); }
        });
        up.findPreviousUploads().then(function (prev) {
          if (prev.length) up.resumeFromPreviousUpload(prev[0]);
          up.start();
        });
      }).then(one);
    }
    return one();
  }

  function uploadKey() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  function errorText(err) {
    var res = err && err.originalResponse;
    if (res) {
      try { return JSON.parse(res.getBody()).error; } catch (e) { /* not JSON */ }
      return 'upload refused (HTTP ' + res.getStatus() + ')';
    }
    if (err && err.originalRequest) {
      return 'the connection dropped and did not come back; choose the same files again to resume';
    }
    return (err && err.message) || 'upload failed';
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (!files.length) return;
    var fields = {};
    ['title', 'category', 'description'].forEach(function (k) { fields[k] = form.elements[k].value.trim(); });
    send.disabled = true;
    result.hidden = true;
    known.hidden = true;
    document.getElementById('progress').hidden = false;
    bar.value = 0;
    stats.textContent = 'Checking whether this is already shared…';
    dedupe().then(function (d) {
      if (d.match) { showKnown(d.torrent); return; }
      stats.textContent = 'Starting…';
      return uploadAll(fields).then(function (out) {
        if (!out) throw new Error('the server finished the upload without naming its torrent');
        location.href = '/t/' + out.info_hash + (out.duplicate ? '?duplicate=1' : '');
      });
    }).catch(function (err) { fail(errorText(err)); });
  });
  function fail(msg) {
    result.textContent = msg;
    result.hidden = false;
    send.disabled = false;
  }
})();
