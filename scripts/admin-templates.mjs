#!/usr/bin/env node
// Generates IT's admin templates from the published policy schema, so they cannot drift from
// the Rust types (core/src/policy/settings.rs → policy/rounds-policy.schema.json):
//   windows/admx/rounds.admx, windows/admx/en-US/rounds.adml   Group Policy, one policy per
//       setting, twice: Software\Policies\Rounds\Mandatory and ...\Recommended
//   macos/app.rounds.desktop.mobileconfig                       configuration profile whose
//       payload is policy/policy.example.json
// Usage: node scripts/admin-templates.mjs           rewrite the files
//        node scripts/admin-templates.mjs --check   exit 1 if a file is stale (make test-package)
// Registry layout (read by core/src/policy/registry.rs; its tests parse the ADMX written here):
//   one value per dotted key; booleans and integers REG_DWORD, choices and text REG_SZ, lists of
//   numbers or names REG_MULTI_SZ (one per line), lists of records and maps REG_SZ holding JSON
//   (as Chrome does for dictionary policies). Mandatory policies are Computer Configuration only
//   (HKLM); Recommended ones also User Configuration (HKCU), the way Chrome's recommended are.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schema = JSON.parse(readFileSync(join(root, "policy/rounds-policy.schema.json"), "utf8"));
const example = JSON.parse(readFileSync(join(root, "policy/policy.example.json"), "utf8"));

// Titles, defaults and guidance for IT, beyond the schema's own descriptions. A key missing here
// still gets a policy (named after the key); the check only fails when the output changes.
const TEXT = {
  "clinic.servers": ["Clinic servers", "none (clinicians add their own)",
    'JSON list, e.g. [{"url":"https://emr.example.org","site":"default","display_name":"General Hospital"}]. url is an origin (https only); site defaults to "default".'],
  "mfa.required": ["Require two-step sign-in", "on",
    "MFA is always on. Enabling this policy only states it; a value of 0 rejects the whole source."],
  "mfa.session_hours": ["Sign-in lasts (hours)", "12", ""],
  "password.min_length": ["Minimum password length", "8", ""],
  "password.rotation_days": ["Password rotation (days)", "180", ""],
  "password.reminder_days": ["Password expiry reminders (days before)", "[14,7,3,1]",
    "One whole number of days per line, each 1 to 90, e.g. 14, 7, 3, 1."],
  "session.idle_lock_minutes": ["Idle lock (minutes)", "15", ""],
  "session.shared_pc": ["Shared PC mode", "off", ""],
  "session.on_lock_video": ["Video visit on idle lock", "hide", ""],
  "network.ca_bundle": ["Hospital CA bundle", "none",
    "Absolute path of a PEM file, e.g. C:\\ProgramData\\Rounds\\hospital-ca.pem."],
  "network.ca_only": ["Trust only the hospital CA", "off",
    "Needs Hospital CA bundle set in the same place (Mandatory or Recommended)."],
  "network.spki_pins": ["Certificate pins (SPKI)", "none",
    'JSON map of lowercase host to pins, e.g. {"emr.example.org":["sha256/<44 base64 characters>"]}.'],
  "network.proxy": ["Proxy", "system", ""],
  "video.e2ee_required": ["Require end-to-end encrypted video", "off", ""],
  "video.linux_window": ["Linux: window for video visits", "app_window",
    "app_window: a Chrome, Chromium or Edge app window on a throwaway profile (camera and microphone only for the visit); system_browser: the default browser. Linux only."],
  "video.browser_path": ["Linux: browser for the visit window", "none (Chrome, Chromium, Edge on PATH)",
    "Absolute path of a Chromium-family browser, e.g. /usr/bin/chromium."],
  "notifications.content": ["Notification content", "generic", ""],
  "notifications.sound": ["Notification sound", "on", ""],
  "updates.mode": ["Updates", "channel",
    "off: never update; channel: follow the update channel; pinned: stay on the pinned version."],
  "updates.channel": ["Update channel", "stable", ""],
  "updates.pinned_version": ["Pinned version", "none", "A version like 1.4.2; used with Updates = pinned."],
  "sync.days_back": ["Schedule sync: days back", "7", "Days of past appointments kept in the encrypted cache."],
  "sync.days_ahead": ["Schedule sync: days ahead", "30", "Days of future appointments synced."],
  "sync.interval_seconds": ["Schedule sync interval (seconds)", "60", ""],
  "logging.level": ["Log level", "info", "Logs never hold secrets or patient data, at any level."],
  "appearance.theme": ["Theme", "system", ""],
  "appearance.text_size": ["Text size", "normal", ""],
};
const CHOICE_TEXT = { patient_name: "patient name", app_window: "app window", system_browser: "system browser" };

// ---- the settings, from the schema ------------------------------------------------------------
const defs = schema.$defs;
const refName = (s) => (s.$ref ?? (s.anyOf ?? []).find((x) => x.$ref)?.$ref)?.split("/").pop();
const types = (s) => [].concat(s.type ?? []);
const sections = [];
for (const [section, s] of Object.entries(defs.Settings.properties)) {
  const def = defs[refName(s)];
  const fields = [];
  for (const [field, f] of Object.entries(def.properties)) {
    const key = `${section}.${field}`;
    const enumDef = refName(f) && defs[refName(f)];
    const t = types(f);
    let kind;
    if (enumDef?.enum) kind = { type: "enum", items: enumDef.enum };
    else if (t.includes("boolean")) kind = { type: key === "mfa.required" ? "on" : "bool" };
    else if (t.includes("integer")) kind = { type: "int", min: f.minimum ?? 0, max: f.maximum ?? 4294967295 };
    else if (t.includes("array") && ["integer", "string"].some((x) => types(f.items ?? {}).includes(x))) kind = { type: "list" };
    else if (t.includes("array") || t.includes("object")) kind = { type: "json" };
    else if (t.includes("string")) kind = { type: "text" };
    else throw new Error(`${key}: no Group Policy mapping for schema ${JSON.stringify(f)}`);
    const [title, dflt, extra] = TEXT[key] ?? [key, "", ""];
    const description = f.description ?? def.description ?? "";
    fields.push({ key, id: key.replace(".", "_"), kind, title, dflt, extra, description });
  }
  sections.push({ section, description: def.description ?? section, fields });
}

// ---- ADMX / ADML --------------------------------------------------------------------------------
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const strip = (s) => s.replace(/`/g, "");
const LEVELS = [
  { prefix: "M", name: "Mandatory", cat: "Rounds_Mandatory", class: "Machine" },
  { prefix: "R", name: "Recommended", cat: "Rounds_Recommended", class: "Both" },
];
const regType = (k) => ({ bool: "REG_DWORD 0/1", on: "REG_DWORD 1", int: "REG_DWORD", enum: "REG_SZ", text: "REG_SZ", list: "REG_MULTI_SZ", json: "REG_SZ (JSON)" })[k.type];

let admx = `<?xml version="1.0" encoding="utf-8"?>
<!-- Generated by scripts/admin-templates.mjs from policy/rounds-policy.schema.json: do not edit.
     Rounds Group Policy template. Copy rounds.admx and en-US/rounds.adml into the Central Store
     (\\\\<domain>\\SYSVOL\\<domain>\\Policies\\PolicyDefinitions). Rounds reads what these policies
     write (HKLM, and HKCU for Recommended) at start; a bad value rejects that hive whole. -->
<policyDefinitions xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" schemaVersion="1.0" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">
  <policyNamespaces>
    <target prefix="rounds" namespace="App.Rounds.Desktop.Policies" />
    <using prefix="windows" namespace="Microsoft.Policies.Windows" />
  </policyNamespaces>
  <resources minRequiredRevision="1.0" />
  <supportedOn>
    <definitions>
      <definition name="SUPPORTED_ROUNDS_GPO" displayName="$(string.SUPPORTED_ROUNDS_GPO)" />
    </definitions>
  </supportedOn>
  <categories>
    <category name="Rounds" displayName="$(string.Rounds)" />
`;
for (const l of LEVELS) {
  admx += `    <category name="${l.cat}" displayName="$(string.${l.cat})"><parentCategory ref="Rounds" /></category>\n`;
  for (const s of sections)
    admx += `    <category name="${l.cat}_${s.section}" displayName="$(string.Section_${s.section})"><parentCategory ref="${l.cat}" /></category>\n`;
}
admx += `  </categories>\n  <policies>\n`;
for (const l of LEVELS) {
  const regKey = `Software\\Policies\\Rounds\\${l.name}`;
  for (const s of sections) {
    for (const f of s.fields) {
      const k = f.kind;
      const pres = ["int", "enum", "text", "list", "json"].includes(k.type) ? ` presentation="$(presentation.${f.id})"` : "";
      const valueName = ["bool", "on"].includes(k.type) ? ` valueName="${f.key}"` : "";
      admx += `    <policy name="${l.prefix}_${f.id}" class="${l.class}" displayName="$(string.${f.id})" explainText="$(string.${f.id}_Explain)"${pres} key="${regKey}"${valueName}>\n`;
      admx += `      <parentCategory ref="${l.cat}_${s.section}" />\n      <supportedOn ref="SUPPORTED_ROUNDS_GPO" />\n`;
      if (k.type === "bool") {
        admx += `      <enabledValue><decimal value="1" /></enabledValue>\n      <disabledValue><decimal value="0" /></disabledValue>\n`;
      } else if (k.type === "on") {
        admx += `      <enabledValue><decimal value="1" /></enabledValue>\n`;
        admx += `      <disabledList><item key="${regKey}" valueName="${f.key}"><value><delete /></value></item></disabledList>\n`;
      } else {
        admx += `      <elements>\n`;
        if (k.type === "int")
          admx += `        <decimal id="${f.id}" valueName="${f.key}" required="true" minValue="${k.min}" maxValue="${k.max}" />\n`;
        else if (k.type === "enum") {
          admx += `        <enum id="${f.id}" valueName="${f.key}" required="true">\n`;
          for (const item of k.items)
            admx += `          <item displayName="$(string.${f.id}_${item})"><value><string>${item}</string></value></item>\n`;
          admx += `        </enum>\n`;
        } else if (k.type === "list")
          admx += `        <multiText id="${f.id}" valueName="${f.key}" required="true" maxLength="4096" maxStrings="100" />\n`;
        else admx += `        <text id="${f.id}" valueName="${f.key}" required="true" maxLength="4096" />\n`;
        admx += `      </elements>\n`;
      }
      admx += `    </policy>\n`;
    }
  }
}
admx += `  </policies>\n</policyDefinitions>\n`;

const str = (id, text) => `      <string id="${id}">${esc(text)}</string>\n`;
let adml = `<?xml version="1.0" encoding="utf-8"?>
<!-- Generated by scripts/admin-templates.mjs from policy/rounds-policy.schema.json: do not edit. -->
<policyDefinitionResources xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" schemaVersion="1.0" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">
  <displayName>Rounds</displayName>
  <description>Group Policy settings for Rounds, the video-visit app for clinicians.</description>
  <resources>
    <stringTable>
`;
adml += str("Rounds", "Rounds");
adml += str("Rounds_Mandatory", "Rounds: locked settings (Mandatory)");
adml += str("Rounds_Recommended", "Rounds: default settings (Recommended, users can override)");
adml += str("SUPPORTED_ROUNDS_GPO", "Rounds builds that read Group Policy (after 0.1.0)");
for (const s of sections) {
  adml += str(`Section_${s.section}`, `${s.section}: ${strip(s.description).replace(/\.$/, "")}`);
  for (const f of s.fields) {
    const k = f.kind;
    const lines = [
      `${strip(f.description)}`.trim(),
      f.extra,
      "",
      `Registry value: ${f.key} (${regType(k)}) under HKLM\\Software\\Policies\\Rounds\\Mandatory (locked: the user sees it and cannot change it; Computer Configuration only) or ...\\Recommended (a default the user may change, where the app lets users change it; Computer or User Configuration, HKLM winning over HKCU).`,
      k.type === "int" ? `Range: ${k.min} to ${k.max}.` : "",
      k.type === "enum" ? `Values: ${k.items.join(", ")}.` : "",
      f.dflt ? `Default without policy: ${f.dflt}.` : "",
      "Not configured: the next source applies (policy.json beside rounds.exe, then the user's own setting, then the default). A value that is out of range or malformed rejects that hive's whole Group Policy source: none of it applies, the secure defaults stay, and the app and rounds-cli policy show say which value is wrong.",
    ].filter((x, i) => x !== "" || i === 2);
    adml += str(f.id, `${f.title} (${f.key})`);
    adml += str(`${f.id}_Explain`, lines.join("\n").replace(/\n\n+/g, "\n\n").trim());
    if (k.type === "enum")
      for (const item of k.items) adml += str(`${f.id}_${item}`, CHOICE_TEXT[item] ?? item);
  }
}
adml += `    </stringTable>\n    <presentationTable>\n`;
for (const s of sections) {
  for (const f of s.fields) {
    const k = f.kind;
    if (k.type === "int") {
      const d = /^\d+$/.test(f.dflt) ? ` defaultValue="${f.dflt}"` : "";
      adml += `      <presentation id="${f.id}"><decimalTextBox refId="${f.id}"${d} spinStep="1">${esc(f.title)}:</decimalTextBox></presentation>\n`;
    } else if (k.type === "enum") {
      const i = Math.max(0, k.items.indexOf(f.dflt));
      adml += `      <presentation id="${f.id}"><dropdownList refId="${f.id}" noSort="true" defaultItem="${i}">${esc(f.title)}:</dropdownList></presentation>\n`;
    } else if (k.type === "list") {
      adml += `      <presentation id="${f.id}"><multiTextBox refId="${f.id}">${esc(f.title)} (one per line):</multiTextBox></presentation>\n`;
    } else if (k.type === "text" || k.type === "json") {
      adml += `      <presentation id="${f.id}"><textBox refId="${f.id}"><label>${esc(f.title)}${k.type === "json" ? " (JSON)" : ""}:</label></textBox></presentation>\n`;
    }
  }
}
adml += `    </presentationTable>\n  </resources>\n</policyDefinitionResources>\n`;

// ---- macOS configuration profile ----------------------------------------------------------------
// Stable UUIDs (a profile's identity must not change between regenerations).
const uuid = (name) => {
  const h = createHash("sha1").update(`app.rounds.desktop/${name}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
};
const plist = (v, ind) => {
  const p = "  ".repeat(ind);
  if (v === true) return `${p}<true/>\n`;
  if (v === false) return `${p}<false/>\n`;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new Error(`non-integer ${v} in the example policy`);
    return `${p}<integer>${v}</integer>\n`;
  }
  if (typeof v === "string") return `${p}<string>${esc(v)}</string>\n`;
  if (Array.isArray(v)) return `${p}<array>\n${v.map((x) => plist(x, ind + 1)).join("")}${p}</array>\n`;
  if (v && typeof v === "object")
    return `${p}<dict>\n${Object.entries(v).map(([k, x]) => `${p}  <key>${esc(k)}</key>\n${plist(x, ind + 1)}`).join("")}${p}</dict>\n`;
  throw new Error(`cannot express ${JSON.stringify(v)} in a property list (null has no plist form)`);
};
const payload = { ...example };
delete payload.$schema;
const inner = {
  PayloadDisplayName: "Rounds policy",
  PayloadIdentifier: "app.rounds.desktop.policy",
  PayloadType: "app.rounds.desktop",
  PayloadUUID: uuid("policy-payload"),
  PayloadVersion: 1,
  ...payload,
};
const profile = {
  PayloadContent: [inner],
  PayloadDescription: "Rounds settings set by your organisation (mandatory: locked; recommended: defaults the user may change).",
  PayloadDisplayName: "Rounds (managed by IT)",
  PayloadIdentifier: "app.rounds.desktop.profile",
  PayloadOrganization: "Example Hospital IT",
  PayloadScope: "System",
  PayloadType: "Configuration",
  PayloadUUID: uuid("profile"),
  PayloadVersion: 1,
};
const mobileconfig = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Generated by scripts/admin-templates.mjs from policy/policy.example.json: do not edit.
     Sample configuration profile: managed preferences for app.rounds.desktop, whose keys are those
     of a policy file (mandatory / recommended, then section, then setting). Edit the values (and
     PayloadOrganization), sign it, and deploy with your MDM; macOS writes the payload to
     /Library/Managed Preferences/app.rounds.desktop.plist, which Rounds reads at start. Check it
     first with: rounds-cli policy validate app.rounds.desktop.mobileconfig -->
<plist version="1.0">
${plist(profile, 0).trimEnd()}
</plist>
`;

// ---- write or check -------------------------------------------------------------------------------
const outputs = [
  ["windows/admx/rounds.admx", admx],
  ["windows/admx/en-US/rounds.adml", adml],
  ["macos/app.rounds.desktop.mobileconfig", mobileconfig],
];
const check = process.argv.includes("--check");
let stale = 0;
for (const [rel, text] of outputs) {
  const path = join(root, rel);
  let old = null;
  try { old = readFileSync(path, "utf8"); } catch {}
  if (old === text) continue;
  if (check) {
    console.error(`admin-templates: ${rel} is stale (the policy schema or example changed): run node scripts/admin-templates.mjs`);
    stale++;
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    console.log(`admin-templates: wrote ${rel}`);
  }
}
const count = sections.reduce((n, s) => n + s.fields.length, 0);
if (stale) process.exit(1);
console.log(`admin-templates: ${count} settings, ${count * 2} Group Policy policies${check ? ": up to date" : ""}`);
