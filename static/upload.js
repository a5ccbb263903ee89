// Upload page: pick or drop files or a whole folder, send them as one
// multipart request with a live progress bar (percent, speed, time left),
// then open the torrent's page.
(function () {
  'use strict';
  var form = document.getElementById('upload');
  var drop = document.getElementById('drop');
  var chosen = document.getElementById('chosen');
  var send = document.getElementById('send');
  var bar = document.getElementById('bar');
  var stats = document.getElementById('stats');
  var result = document.getElementById('result');
  var files = []; // {file, path}

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
  function setFiles(list) {
    files = list.sort(function (a, b) { return a.path < b.path ? -1 : a.path > b.path ? 1 : 0; });
    var total = files.reduce(function (s, f) { return s + f.file.size; }, 0);
    chosen.textContent = files.length ? files.length + ' file' + (files.length > 1 ? 's' : '') + ', ' + human(total) : 'Nothing chosen yet.';
    send.disabled = !files.length;
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

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (!files.length) return;
    var data = new FormData();
    ['title', 'category', 'description'].forEach(function (k) { data.append(k, form.elements[k].value); });
    files.forEach(function (f) { data.append('file', f.file, f.path); });
    var xhr = new XMLHttpRequest();
    var started = performance.now();
    send.disabled = true;
    result.hidden = true;
    document.getElementById('progress').hidden = false;
    xhr.upload.addEventListener('progress', function (ev) {
      if (!ev.lengthComputable) return;
      var pct = ev.loaded / ev.total * 100;
      var secs = (performance.now() - started) / 1000;
      var speed = ev.loaded / Math.max(secs, 0.001);
      bar.value = pct;
      stats.textContent = pct.toFixed(1) + '% · ' + human(speed) + '/s · ' +
        duration((ev.total - ev.loaded) / speed) + ' left';
    });
    xhr.upload.addEventListener('load', function () { stats.textContent = '100% · making the seed link…'; });
    xhr.addEventListener('load', function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { /* not JSON */ }
      if (xhr.status === 200 || xhr.status === 201) {
        location.href = body.page_url.replace(/^https?:\/\/[^/]+/, '') + (body.duplicate ? '?duplicate=1' : '');
        return;
      }
      fail(body.error || ('upload failed (HTTP ' + xhr.status + ')'));
    });
    xhr.addEventListener('error', function () { fail('the connection dropped; try again'); });
    xhr.open('POST', form.action);
    xhr.setRequestHeader('X-CSRF-Token', form.dataset.csrf);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.send(data);
  });
  function fail(msg) {
    result.textContent = msg;
    result.hidden = false;
    send.disabled = false;
  }
})();
