/* Lets plotly.js run under a strict CSP (style-src 'self', no inline styles).
   Loaded before plotly.min.js. plotly.js would otherwise (1) insert <style> elements for its
   global and per-graph rules and (2) set style="" attributes; both are blocked by the CSP.
   (1) The global rules are served as /static/vendor/plotly.css (extracted from the installed
   bundle), linked with id "plotly.js-style-global" and class "no-inline-styles", which plotly.js
   honours by not injecting them; per-graph rule sheets get the same treatment, and so does the
   bundled MapLibre stylesheet (looked up by a 64-hex id; Lydiard draws no tile maps).
   (2) style attributes are applied through the CSSOM (element.style), which CSP allows. */
(function () {
  "use strict";
  var getById = Document.prototype.getElementById;
  Document.prototype.getElementById = function (id) {
    var el = getById.call(this, id);
    if (!el && typeof id === "string" && (id.indexOf("plotly.js-style-") === 0 || /^[0-9a-f]{64}$/.test(id))) {
      el = document.createElement("meta");
      el.className = "no-inline-styles";
    }
    return el;
  };
  var setAttr = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (typeof name === "string" && name.toLowerCase() === "style" && this.style) {
      this.style.cssText = String(value);
      return;
    }
    return setAttr.call(this, name, value);
  };
  var setAttrNS = Element.prototype.setAttributeNS;
  Element.prototype.setAttributeNS = function (ns, name, value) {
    if (typeof name === "string" && name.toLowerCase() === "style" && this.style) {
      this.style.cssText = String(value);
      return;
    }
    return setAttrNS.call(this, ns, name, value);
  };
}());
