import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// Validates rendered manifests against the real Kubernetes and CRD schemas
// shipped by the kubernetes-models packages, in two passes:
//  1. the packages' own validators (generated from the OpenAPI / CRD
//     schemas): types, enums, required fields;
//  2. strictness, which those validators lack (they accept unknown fields, so
//     a misspelt `replcas` would pass): like kubeconform's -strict, every
//     object whose schema lists its properties may carry only those. The
//     property lists are read from the packages' type declarations, which are
//     generated from the same schemas.

const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));

interface Kind {
  /** The package module exporting the model class. */
  module: string;
  /** Path of the .d.ts (under node_modules) declaring `I<Kind>`. */
  declaration: string;
}

const core = (group: string, kind: string): Kind => ({
  module: `kubernetes-models/${group}`,
  declaration: `kubernetes-models/${group}/${kind}.d.ts`,
});
const crd = (pkg: string, group: string, kind: string): Kind => ({
  module: `@kubernetes-models/${pkg}/${group}`,
  declaration: `@kubernetes-models/${pkg}/${group}/${kind}.d.ts`,
});

const KINDS: Record<string, Kind> = {
  'v1/ConfigMap': core('v1', 'ConfigMap'),
  'v1/Secret': core('v1', 'Secret'),
  'v1/Service': core('v1', 'Service'),
  'v1/ServiceAccount': core('v1', 'ServiceAccount'),
  'apps/v1/Deployment': core('apps/v1', 'Deployment'),
  'apps/v1/StatefulSet': core('apps/v1', 'StatefulSet'),
  'batch/v1/Job': core('batch/v1', 'Job'),
  'autoscaling/v2/HorizontalPodAutoscaler': core('autoscaling/v2', 'HorizontalPodAutoscaler'),
  'networking.k8s.io/v1/Ingress': core('networking.k8s.io/v1', 'Ingress'),
  'networking.k8s.io/v1/NetworkPolicy': core('networking.k8s.io/v1', 'NetworkPolicy'),
  'policy/v1/PodDisruptionBudget': core('policy/v1', 'PodDisruptionBudget'),
  'argoproj.io/v1alpha1/Rollout': crd('argo-rollouts', 'argoproj.io/v1alpha1', 'Rollout'),
  'argoproj.io/v1alpha1/AnalysisTemplate': crd('argo-rollouts', 'argoproj.io/v1alpha1', 'AnalysisTemplate'),
  'argoproj.io/v1alpha1/Application': crd('argo-cd', 'argoproj.io/v1alpha1', 'Application'),
  'argoproj.io/v1alpha1/ApplicationSet': crd('argo-cd', 'argoproj.io/v1alpha1', 'ApplicationSet'),
  'argoproj.io/v1alpha1/AppProject': crd('argo-cd', 'argoproj.io/v1alpha1', 'AppProject'),
  'keda.sh/v1alpha1/ScaledObject': crd('keda', 'keda.sh/v1alpha1', 'ScaledObject'),
  'keda.sh/v1alpha1/TriggerAuthentication': crd('keda', 'keda.sh/v1alpha1', 'TriggerAuthentication'),
  'monitoring.coreos.com/v1/PodMonitor': crd('prometheus-operator', 'monitoring.coreos.com/v1', 'PodMonitor'),
  'gateway.networking.k8s.io/v1/HTTPRoute': crd('gateway-api', 'gateway.networking.k8s.io/v1', 'HTTPRoute'),
};

export interface Manifest {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

let checker: { program: ts.Program; types: Map<string, ts.Type> } | undefined;

/** One TypeScript program over every declaration, built once per process. */
function declaredTypes(): { checker: ts.TypeChecker; types: Map<string, ts.Type> } {
  if (!checker) {
    const files = Object.values(KINDS).map((k) => NODE_MODULES + k.declaration);
    const program = ts.createProgram(files, { strict: true, noEmit: true, skipLibCheck: true, types: [] });
    const types = new Map<string, ts.Type>();
    for (const [key, kind] of Object.entries(KINDS)) {
      const source = program.getSourceFile(NODE_MODULES + kind.declaration);
      const name = `I${key.split('/').at(-1)}`;
      const declaration = source?.statements.find(
        (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
      );
      if (!declaration) throw new Error(`no interface ${name} in ${kind.declaration}`);
      types.set(key, program.getTypeChecker().getTypeAtLocation(declaration));
    }
    checker = { program, types };
  }
  return { checker: checker.program.getTypeChecker(), types: checker.types };
}

/** Unknown fields of `value` against `type`, as JSON paths. */
function unknownFields(tc: ts.TypeChecker, value: unknown, type: ts.Type, path: string, found: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const members = (type.isUnion() ? type.types : [type]).map((t) => tc.getNonNullableType(t));
  if (Array.isArray(value)) {
    const element = members.map((t) => (tc.isArrayType(t) ? tc.getTypeArguments(t as ts.TypeReference)[0] : undefined)).find(Boolean);
    if (element) value.forEach((item, i) => unknownFields(tc, item, element, `${path}[${i}]`, found));
    return;
  }
  const objects = members.filter((t) => t.flags & ts.TypeFlags.Object && !tc.isArrayType(t));
  if (objects.length === 0) return;
  const index = objects.flatMap((t) => tc.getIndexInfosOfType(t)).find((info) => info.keyType.flags & ts.TypeFlags.String);
  const properties = new Map(objects.flatMap((t) => tc.getPropertiesOfType(t)).map((p) => [p.name, p] as const));
  for (const [key, child] of Object.entries(value)) {
    const property = properties.get(key);
    if (property) unknownFields(tc, child, tc.getTypeOfSymbol(property), `${path}.${key}`, found);
    else if (index) unknownFields(tc, child, index.type, `${path}.${key}`, found);
    // Only objects whose schema lists its properties are closed (kubeconform -strict).
    else if (properties.size > 0) found.push(`${path}.${key}`);
  }
}

/**
 * Every problem of one object: an unknown kind, what the schema validator
 * reports, and unknown fields. Empty when the object is valid.
 */
export async function validateManifest(manifest: Manifest): Promise<string[]> {
  const key = `${String(manifest.apiVersion)}/${String(manifest.kind)}`;
  const name = `${key} ${manifest.metadata?.name ?? '(no name)'}`;
  const kind = KINDS[key];
  if (!kind) return [`${name}: no schema known for this apiVersion and kind`];
  const problems: string[] = [];
  const module = (await import(kind.module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[String(manifest.kind)];
  if (!Model) return [`${name}: ${kind.module} has no ${String(manifest.kind)}`];
  try {
    new Model(manifest).validate();
  } catch (error) {
    problems.push(`${name}: ${(error as Error).message}`);
  }
  const { checker: tc, types } = declaredTypes();
  const found: string[] = [];
  unknownFields(tc, manifest, types.get(key) as ts.Type, '', found);
  for (const field of found) problems.push(`${name}: unknown field ${field.slice(1)}`);
  return problems;
}

export async function validateManifests(manifests: Manifest[]): Promise<string[]> {
  return (await Promise.all(manifests.map(validateManifest))).flat();
}
