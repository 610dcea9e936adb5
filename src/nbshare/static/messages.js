// The messages between the share page (share.js, on the service's origin) and the notebook
// in its sandboxed frame (content.js, an opaque origin): postMessage is their only channel.
// Each message is { nbshare: NAME, FIELD: value }, at most one field, declared here once.
// A receiver trusts nothing: the notebook's own scripts share the frame and can post
// anything, so each side drops a message `valid` refuses before it reads a field.
// Loaded before share.js (share.html) and before content.js (the frame's page, index.html.j2).
var NBSHARE_MESSAGES = (function () {
  "use strict";
  // A share id as links spell it; security/tokens.py's ID_PATTERN, and a test keeps them equal.
  var SHARE_ID = "[A-Za-z0-9_-]{16,64}";
  function string(limit) {
    return function (value) { return typeof value === "string" && (!limit || value.length <= limit); };
  }
  function positive(value) { return typeof value === "number" && value > 0; }
  function boolean(value) { return typeof value === "boolean"; }

  // name: [its field, the field's check] (or [] for none)
  var FROM_FRAME = {
    ready: [],                        // content.js has started: the page sends its settings
    hash: ["hash", string()],         // the frame's #fragment changed
    copy: ["hash", string()],         // a heading's ¶ or a cell's # was clicked: copy its link
    current: ["anchor", string(300)], // the section being read, for the table of contents
    height: ["height", positive],     // the notebook's full height, used when printing
    open: ["path", string(2000)]      // a link to another notebook or file of the share
  };
  var FROM_PAGE = {
    "hide-code": ["hidden", boolean], // the page's Hide code button
    print: []                         // the page's Print button, or Ctrl/Cmd+P on the page
  };

  function checker(declared) {
    return function (data) {
      if (!data || typeof data !== "object" || typeof data.nbshare !== "string" ||
          !Object.prototype.hasOwnProperty.call(declared, data.nbshare)) return false;
      var field = declared[data.nbshare];
      return !field.length || field[1](data[field[0]]);
    };
  }

  return {
    fromFrame: checker(FROM_FRAME),
    fromPage: checker(FROM_PAGE),
    // A path the frame hands to the page to open: a notebook or file of a share, below
    // the service's prefix (if it has one). Tested on a URL's pathname, which holds no
    // whitespace (the URL parser percent-encodes it).
    OPENABLE: new RegExp("^/n/" + SHARE_ID + "(/v/\\d+)?/(nb|files)/")
  };
})();
