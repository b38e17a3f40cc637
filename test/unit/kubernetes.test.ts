// deploy/kubernetes stays valid: every manifest checked against the
// Kubernetes API's JSON schemas (kubernetes-models), and the parts agree with
// each other and with the host (probe paths, Secret keys, selectors). No
// cluster runs here; docs/scaling.md says how to apply them to one.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Namespace, Secret, Service } from "kubernetes-models/v1";
import { declarationOf, unknownFields } from "../helpers/k8s-fields.js";
import { ROOT } from "../helpers/paths.js";

const DIR = join(ROOT, "deploy", "kubernetes");

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The model of each kind, and the module that declares it (for its fields). */
const MODELS: Record<string, [new (data: never) => { validate(): void }, string]> = {
  "apps/v1 Deployment": [Deployment, "kubernetes-models/apps/v1/Deployment"],
  "autoscaling/v2 HorizontalPodAutoscaler": [HorizontalPodAutoscaler, "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler"],
  "policy/v1 PodDisruptionBudget": [PodDisruptionBudget, "kubernetes-models/policy/v1/PodDisruptionBudget"],
  "v1 Namespace": [Namespace, "kubernetes-models/v1/Namespace"],
  "v1 Secret": [Secret, "kubernetes-models/v1/Secret"],
  "v1 Service": [Service, "kubernetes-models/v1/Service"],
};

async function manifests(): Promise<Map<string, Manifest>> {
  const found = new Map<string, Manifest>();
  for (const file of (await readdir(DIR)).filter((name) => name.endsWith(".yaml") && name !== "kustomization.yaml")) {
    for (const doc of parseAllDocuments(await readFile(join(DIR, file), "utf8"))) {
      expect(doc.errors, file).toEqual([]);
      const manifest = doc.toJS({ maxAliasCount: -1 }) as Manifest;
      found.set(manifest.kind, manifest);
    }
  }
  return found;
}

describe("deploy/kubernetes", () => {
  it("validates every manifest against the Kubernetes API's schemas", async () => {
    const all = await manifests();
    const kinds = [...all.keys()];
    expect(kinds.sort()).toEqual(["Deployment", "HorizontalPodAutoscaler", "Namespace", "PodDisruptionBudget", "Secret", "Service"]);
    for (const kind of kinds) {
      const manifest = all.get(kind)!;
      const model = MODELS[`${manifest.apiVersion} ${manifest.kind}`];
      expect(model, `${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      const [Model, module] = model!;
      expect(() => new Model(manifest as never).validate(), kind).not.toThrow();
      expect(unknownFields(manifest, declarationOf(module)), kind).toEqual([]);
    }
  });

  it("refuses a manifest the API would refuse (the check can fail)", () => {
    const broken = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "wfn" }, spec: { replicas: "three", selector: {}, template: {} } };
    expect(() => new Deployment(broken as never).validate()).toThrow();
    const typo = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "wfn", labels: { any: "label" } }, spec: { template: { spec: { containers: [{ name: "wfn", readinesProbe: {} }] } } } };
    expect(unknownFields(typo, declarationOf("kubernetes-models/apps/v1/Deployment"))).toEqual([".spec.template.spec.containers[0].readinesProbe"]);
  });

  it("lists every manifest but the Secret in its kustomization, and its parts agree", async () => {
    const kustomization = (parseAllDocuments(await readFile(join(DIR, "kustomization.yaml"), "utf8"))[0]!.toJS() as { resources: string[] }).resources;
    const files = (await readdir(DIR)).filter((name) => name.endsWith(".yaml") && name !== "kustomization.yaml" && name !== "secret.example.yaml");
    expect([...kustomization].sort()).toEqual(files.sort());

    const all = await manifests();
    const deployment = all.get("Deployment") as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        template: {
          metadata: { labels: Record<string, string> };
          spec: {
            securityContext: { runAsNonRoot: boolean };
            containers: Array<{
              args: string[];
              readinessProbe: { httpGet: { path: string; port: string } };
              livenessProbe: { httpGet: { path: string } };
              env: Array<{ name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
              securityContext: { readOnlyRootFilesystem: boolean };
              ports: Array<{ name: string; containerPort: number }>;
            }>;
          };
        };
      };
    };
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    const container = deployment.spec.template.spec.containers[0]!;
    // The host's probes: readiness says when it serves what is deployed, liveness that it runs.
    expect(container.readinessProbe.httpGet.path).toBe("/_wfn/ready");
    expect(container.livenessProbe.httpGet.path).toBe("/_wfn/health");
    expect(container.args.slice(0, 1)).toEqual(["serve"]);
    expect(container.args[container.args.indexOf("--port") + 1]).toBe(String(container.ports[0]!.containerPort));
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);

    // Every key the Deployment reads from the Secret is in the example Secret.
    const secret = all.get("Secret") as unknown as { metadata: { name: string }; stringData: Record<string, string> };
    for (const { valueFrom } of container.env.filter((variable) => variable.valueFrom !== undefined)) {
      expect(valueFrom!.secretKeyRef.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(valueFrom!.secretKeyRef.key);
    }
    expect(container.env.map((variable) => variable.name)).toEqual(expect.arrayContaining(["WFN_STORE", "WFN_ADMIN_KEYS"]));

    const service = all.get("Service") as unknown as { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } };
    expect(service.spec.selector).toEqual(labels);
    expect(service.spec.ports[0]!.targetPort).toBe(container.ports[0]!.name);
    const pdb = all.get("PodDisruptionBudget") as unknown as { spec: { selector: { matchLabels: Record<string, string> } } };
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    const hpa = all.get("HorizontalPodAutoscaler") as unknown as { spec: { scaleTargetRef: { kind: string; name: string } } };
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: (all.get("Deployment") as Manifest).metadata.name });
  });
});
