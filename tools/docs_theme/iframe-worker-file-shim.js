// growlearn's stand-in for a Web Worker when the docs are opened from file:// (browsers refuse Workers there):
// the worker script (Material's search) runs in a hidden same-origin iframe, messages are passed both ways.
// Its name contains "iframe-worker" so that Material's offline plugin does not add a shim from a CDN.
(function () {
  if (location.protocol !== "file:") return;
  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = null; this.onerror = null; this._pending = []; this._ready = false;
      const frame = document.createElement("iframe");
      frame.hidden = true; frame.srcdoc = "<!doctype html><html><head></head><body></body></html>";
      frame.addEventListener("load", () => {
        const w = frame.contentWindow, self = this;
        w.postMessage = (data) => self._emit("message", new MessageEvent("message", { data }));
        w.importScripts = () => { throw new Error("importScripts is not available in the file:// worker stand-in"); };
        const s = w.document.createElement("script");
        s.src = new URL(url, location.href).href;
        s.onload = () => { this._ready = true; this._pending.splice(0).forEach((d) => this._deliver(d)); };
        s.onerror = (e) => this._emit("error", new ErrorEvent("error", { message: "cannot load " + url }));
        w.document.head.appendChild(s);
        this._window = w;
      });
      (document.body || document.documentElement).appendChild(frame);
    }
    _deliver(data) { this._window.dispatchEvent(new this._window.MessageEvent("message", { data })); }
    _emit(type, ev) { const h = this["on" + type]; if (h) h.call(this, ev); this.dispatchEvent(ev); }
    postMessage(data) { this._ready ? this._deliver(data) : this._pending.push(data); }
    terminate() {}
  }
  window.Worker = FrameWorker;
})();
