import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluate } from '@marcbachmann/cel-js';
import { Ajv } from 'ajv';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parse } from 'yaml';
import { EngineError, type InstanceSpec, instanceLabels } from '../engine.js';
import { admissionValidations, admittedDigestKey, driftProbeDigestKey } from './admission-objects.js';
import { controllerSecretVerbs, forbiddenControllerResources } from './controller-rbac.js';
import { type KubernetesFleetInput, type KubernetesObject, renderFleetObjects } from './fleet-objects.js';
import { herdLabelsAnnotation } from './pod-labels.js';
import { podTemplateFor } from './pod-template.js';

const digest = `sha256:${'a'.repeat(64)}` as const;
const otherDigest = `sha256:${'b'.repeat(64)}` as const;
const repository = 'registry.example:5000/team/hello';

function instance(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: 'hello',
    revision: 'aaaaaaaa',
    digest,
    templateDigest: `sha256:${'c'.repeat(64)}`,
    imageRef: `${repository}@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: { GREETING: 'hi' },
    writable: ['/tmp', '/var/cache/app'],
    port: 8080,
    resources: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pids: 128 },
    stopGraceSeconds: 7,
    ...overrides,
  };
}

const publicKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

function input(overrides: Partial<KubernetesFleetInput> = {}): KubernetesFleetInput {
  return {
    namespace: 'herd',
    instance: instance(),
    replicas: 3,
    strategy: { maxSurge: '25%', maxUnavailable: 0, minReadySeconds: 5, progressDeadlineSeconds: 120 },
    health: {
      kind: 'http',
      path: '/healthz',
      port: 8080,
      intervalSeconds: 0.5,
      timeoutSeconds: 2,
      retries: 2,
    },
    failureThreshold: 3,
    secretEnv: ['API_TOKEN'],
    admittedDigests: [otherDigest],
    signingKeys: [{ name: 'cosign', pem: publicKeyPem }],
    ...overrides,
  };
}

/** The OpenAPI validator kubernetes-models generated for the object's kind; throws on a kind it has not. */
function validateAgainstOpenApi(object: KubernetesObject): void {
  const models: Record<string, new (data: never) => { validate(): void }> = {
    'v1/Namespace': Namespace,
    'v1/ServiceAccount': ServiceAccount,
    'v1/ConfigMap': ConfigMap,
    'v1/Service': Service,
    'v1/Pod': Pod,
    'rbac.authorization.k8s.io/v1/Role': Role,
    'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
    'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': ValidatingAdmissionPolicy,
    'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': ValidatingAdmissionPolicyBinding,
    'apps/v1/Deployment': Deployment,
  };
  const Model = models[`${object.apiVersion}/${object.kind}`];
  assert.ok(Model, `no OpenAPI model for ${object.apiVersion} ${object.kind}`);
  new Model(object as never).validate();
}

function find<K extends string>(objects: KubernetesObject[], kind: K) {
  const found = objects.filter((object) => object.kind === kind);
  assert.ok(found.length > 0, `no ${kind} among ${objects.map((object) => object.kind).join(', ')}`);
  return found as Extract<KubernetesObject, { kind?: string }>[];
}

const crdFile = join('test', 'fixtures', 'policy-controller', '300-clusterimagepolicy.yaml');
const crdSha256 = 'e23467593124763d9937b1180d48cefe89dc72cf04e9bcf84cbf29822d51b20c';

/**
 * The CRD's v1beta1 schema as the API server applies it with strict field validation: a property
 * the schema does not declare is an error, except under x-kubernetes-preserve-unknown-fields.
 */
async function clusterImagePolicyValidator() {
  const text = await readFile(crdFile);
  assert.equal(
    createHash('sha256').update(text).digest('hex'),
    crdSha256,
    `${crdFile} is not the CRD pinned`,
  );
  const crd = parse(text.toString('utf8'));
  const version = crd.spec.versions.find((one: { name: string }) => one.name === 'v1beta1');
  const strict = (schema: Record<string, unknown>): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...schema };
    if (copy.properties) {
      copy.properties = Object.fromEntries(
        Object.entries(copy.properties as Record<string, Record<string, unknown>>).map(([name, sub]) => [
          name,
          strict(sub),
        ]),
      );
      if (!copy['x-kubernetes-preserve-unknown-fields']) copy.additionalProperties = false;
    }
    if (copy.items) copy.items = strict(copy.items as Record<string, unknown>);
    return copy;
  };
  const schema = strict(version.schema.openAPIV3Schema);
  // apiVersion, kind and metadata are the API server's, not the CRD's to declare.
  (schema.properties as Record<string, unknown>).apiVersion = {
    type: 'string',
    enum: ['policy.sigstore.dev/v1beta1'],
  };
  (schema.properties as Record<string, unknown>).kind = { type: 'string', enum: ['ClusterImagePolicy'] };
  (schema.properties as Record<string, unknown>).metadata = { type: 'object' };
  const ajv = new Ajv({ strict: false, allErrors: true });
  return ajv.compile(schema);
}

describe('renderFleetObjects', () => {
  it('renders objects that each validate against the Kubernetes OpenAPI schema', () => {
    const objects = renderFleetObjects(input());

    const native = objects.filter((object) => object.kind !== 'ClusterImagePolicy');
    for (const object of native) validateAgainstOpenApi(object);

    assert.deepEqual(
      objects.map((object) => object.kind),
      [
        'Namespace',
        'ServiceAccount',
        'Role',
        'RoleBinding',
        'ServiceAccount',
        'ConfigMap',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
        'ClusterImagePolicy',
        'Deployment',
        'Service',
      ],
    );
  });

  it('has a schema validator that refuses what Kubernetes would', () => {
    const [deployment] = find(renderFleetObjects(input()), 'Deployment') as never as [
      { spec: { template: { spec: { securityContext: { runAsUser: unknown } } } } },
    ];
    deployment.spec.template.spec.securityContext.runAsUser = '65532';

    assert.throws(() => validateAgainstOpenApi(deployment as never), /runAsUser must be integer/);
  });

  it("renders a ClusterImagePolicy that validates against policy-controller's CRD, unknown fields refused", async () => {
    const validate = await clusterImagePolicyValidator();
    const [policy] = find(renderFleetObjects(input()), 'ClusterImagePolicy') as never as [
      { spec: Record<string, unknown> },
    ];

    assert.equal(validate(policy), true, JSON.stringify(validate.errors));
    const typo = { ...policy, spec: { ...policy.spec, authority: [] } };
    assert.equal(validate(typo), false, 'a field the CRD does not declare is refused');
  });

  it('pins the image by digest, signed by herd, in the ClusterImagePolicy', () => {
    const objects = renderFleetObjects(input());

    const [policy] = find(objects, 'ClusterImagePolicy') as never as [
      { spec: { images: { glob: string }[]; authorities: { key: { data: string } }[]; mode: string } },
    ];
    assert.deepEqual(policy.spec.images, [{ glob: `${repository}**` }]);
    assert.equal(policy.spec.authorities[0]?.key.data, publicKeyPem);
    assert.equal(policy.spec.mode, 'enforce');
    assert.deepEqual(
      find(renderFleetObjects(input({ signingKeys: [] })), 'Deployment').length,
      1,
      'without a key the rest is still rendered',
    );
    assert.ok(
      !renderFleetObjects(input({ signingKeys: [] })).some((one) => one.kind === 'ClusterImagePolicy'),
    );
  });

  it("renders a Deployment with herd's hardening, strategy, probes and the writable paths as memory emptyDirs", () => {
    const [deployment] = find(renderFleetObjects(input()), 'Deployment') as never as [
      import('@kubernetes/client-node').V1Deployment,
    ];

    const spec = deployment.spec;
    const pod = spec?.template.spec;
    const [container] = pod?.containers ?? [];
    assert.equal(spec?.replicas, 3);
    assert.deepEqual(spec?.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 },
    });
    assert.equal(spec?.minReadySeconds, 5);
    assert.equal(spec?.progressDeadlineSeconds, 120);
    assert.deepEqual(spec?.selector.matchLabels, {
      [instanceLabels.managedBy]: 'herd',
      [instanceLabels.service]: 'hello',
    });
    assert.equal(pod?.automountServiceAccountToken, false);
    assert.equal(pod?.serviceAccountName, 'herd-workload');
    assert.equal(pod?.restartPolicy, 'Always');
    assert.equal(pod?.terminationGracePeriodSeconds, 7);
    assert.deepEqual(pod?.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.equal(container?.image, `${repository}@${digest}`);
    assert.deepEqual(container?.securityContext, {
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(container?.resources, {
      limits: { cpu: '500m', memory: String(128 * 1024 * 1024) },
      requests: { cpu: '500m', memory: String(128 * 1024 * 1024) },
    });
    assert.deepEqual(
      container?.volumeMounts?.map((mount) => mount.mountPath),
      ['/tmp', '/var/cache/app', '/dev/shm'],
    );
    assert.deepEqual(pod?.volumes, [
      { name: 'writable-0', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'writable-1', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: String(1024 * 1024) } },
    ]);
    assert.deepEqual(container?.readinessProbe, {
      httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
      periodSeconds: 1,
      timeoutSeconds: 2,
      successThreshold: 1,
      failureThreshold: 2,
    });
    assert.equal(container?.livenessProbe?.failureThreshold, 3);
    assert.deepEqual(container?.env, [
      { name: 'GREETING', value: 'hi' },
      { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'hello-env', key: 'API_TOKEN' } } },
    ]);
  });

  it('renders recreate as a Recreate Deployment, and refuses blue-green, which a Deployment has not', () => {
    const strategy = input().strategy;

    const [recreate] = find(
      renderFleetObjects(input({ strategy: { ...strategy, type: 'recreate' } })),
      'Deployment',
    ) as never as [import('@kubernetes/client-node').V1Deployment];

    assert.deepEqual(recreate.spec?.strategy, { type: 'Recreate' });
    validateAgainstOpenApi(recreate);
    assert.throws(
      () => renderFleetObjects(input({ strategy: { ...strategy, type: 'blue-green' } })),
      (error: unknown) =>
        error instanceof EngineError && error.code === 'UNSUPPORTED' && /blue-green/.test(error.message),
    );
  });

  it('loosens only the root filesystem for run.writableRoot', () => {
    const [deployment] = find(
      renderFleetObjects(input({ instance: instance({ writableRoot: true }) })),
      'Deployment',
    ) as never as [import('@kubernetes/client-node').V1Deployment];

    const context = deployment.spec?.template.spec?.containers[0]?.securityContext;
    assert.equal(context?.readOnlyRootFilesystem, false);
    assert.equal(context?.allowPrivilegeEscalation, false);
    assert.deepEqual(context?.capabilities, { drop: ['ALL'] });
  });

  it('carries every herd label, digests included, in an annotation, and the label-safe ones as labels', () => {
    const [deployment] = find(renderFleetObjects(input()), 'Deployment') as never as [
      import('@kubernetes/client-node').V1Deployment,
    ];

    const metadata = deployment.spec?.template.metadata;
    const carried = JSON.parse(metadata?.annotations?.[herdLabelsAnnotation] ?? '{}');
    assert.equal(carried[instanceLabels.digest], digest);
    assert.equal(metadata?.labels?.[instanceLabels.revision], 'aaaaaaaa');
    assert.equal(metadata?.labels?.[instanceLabels.digest], undefined, 'a digest is no label value');
  });

  it('refuses an image named by a tag, and root, as every engine does', () => {
    const tagged = () =>
      renderFleetObjects(input({ instance: instance({ imageRef: `${repository}:latest` }) }));
    const root = () =>
      podTemplateFor(instance({ user: { uid: 0, gid: 0 } }), {
        restartPolicy: 'Never',
        serviceAccountName: 'hello',
      });

    assert.throws(
      tagged,
      (error: unknown) =>
        error instanceof EngineError &&
        error.code === 'CREATE' &&
        /not named by its digest/.test(error.message),
    );
    assert.throws(root, (error: unknown) => error instanceof EngineError && error.code === 'CREATE');
  });

  it("grants herd's controller no exec, attach, port-forward, secret read, RBAC or wildcard, and ephemeral containers only to add", () => {
    const objects = renderFleetObjects(input());

    const [role] = find(objects, 'Role') as never as [import('@kubernetes/client-node').V1Role];
    const granted = (role.rules ?? []).flatMap((rule) => rule.resources ?? []);
    const verbs = (role.rules ?? []).flatMap((rule) => rule.verbs);
    for (const forbidden of forbiddenControllerResources) assert.ok(!granted.includes(forbidden), forbidden);
    assert.ok(!verbs.includes('*') && !verbs.includes('escalate') && !verbs.includes('bind'));
    assert.ok((role.rules ?? []).every((rule) => !(rule.apiGroups ?? []).includes('*')));
    assert.ok(granted.includes('pods') && granted.includes('pods/log'));
    // Secrets: made and deleted, one per instance, never read, listed, watched or changed.
    const onSecrets = (role.rules ?? []).filter((rule) => (rule.resources ?? []).includes('secrets'));
    assert.deepEqual(
      onSecrets.flatMap((rule) => rule.verbs),
      ['create', 'delete'],
    );
    assert.deepEqual([...controllerSecretVerbs], ['create', 'delete']);
    // The drift probe: added with a patch, nothing more (the admission policy lets in only the probe).
    const onEphemeral = (role.rules ?? []).filter((rule) =>
      (rule.resources ?? []).includes('pods/ephemeralcontainers'),
    );
    assert.deepEqual(
      onEphemeral.map((rule) => [rule.resources, rule.verbs]),
      [[['pods/ephemeralcontainers'], ['patch']]],
    );
    const [namespace] = find(objects, 'Namespace') as never as [
      import('@kubernetes/client-node').V1Namespace,
    ];
    assert.equal(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.equal(namespace.metadata?.labels?.['policy.sigstore.dev/include'], 'true');
  });

  it('lists the fleet digest and the others herd admitted in the ConfigMap the admission policy reads', () => {
    const [configMap] = find(renderFleetObjects(input()), 'ConfigMap') as never as [
      import('@kubernetes/client-node').V1ConfigMap,
    ];

    assert.deepEqual(Object.keys(configMap.data ?? {}), [
      admittedDigestKey(digest),
      admittedDigestKey(otherDigest),
    ]);
  });
});

describe('the admission policy', () => {
  const admitted = { data: { [admittedDigestKey(digest)]: digest } };
  const pod = (spec: Record<string, unknown>) => ({
    metadata: { name: 'p' },
    spec: { containers: [], ...spec },
  });
  const allows = (object: unknown, params: unknown = admitted) =>
    admissionValidations.every((validation) => evaluate(validation.expression, { object, params }) === true);

  it('admits a pod whose every image is pinned to an admitted digest', () => {
    assert.equal(allows(pod({ containers: [{ image: `${repository}@${digest}` }] })), true);
  });

  it('denies a tag, an unadmitted digest, a digest smuggled behind another, and an uppercase digest', () => {
    for (const image of [
      `${repository}:latest`,
      repository,
      `${repository}@${otherDigest}`,
      `${repository}@${otherDigest}@${digest}`,
      `${repository}@sha256:${'A'.repeat(64)}`,
      `${repository}@sha256:${'a'.repeat(63)}`,
    ]) {
      assert.equal(allows(pod({ containers: [{ image }] })), false, image);
    }
  });

  it('denies an unadmitted image in an init or an ephemeral container beside an admitted one', () => {
    const good = { image: `${repository}@${digest}` };
    const bad = { image: 'debug.example/busybox:latest' };

    assert.equal(allows(pod({ containers: [good], initContainers: [bad] })), false);
    assert.equal(
      allows(pod({ containers: [good], ephemeralContainers: [{ name: 'herd-drift-1', ...bad }] })),
      false,
    );
  });

  it("lets in an ephemeral container only as herd's drift probe: its own digest key, its name, no command, volume or environment", () => {
    const probeDigest = `sha256:${'c'.repeat(64)}` as const;
    const params = {
      data: { [admittedDigestKey(digest)]: digest, [driftProbeDigestKey(probeDigest)]: probeDigest },
    };
    const good = { image: `${repository}@${digest}` };
    const probe = {
      name: 'herd-drift-1',
      image: `${repository}@${probeDigest}`,
      args: ['--has', '/app/server.js'],
    };
    const withProbe = (ephemeral: Record<string, unknown>) =>
      allows(pod({ containers: [good], ephemeralContainers: [ephemeral] }), params);

    assert.equal(withProbe(probe), true);
    assert.equal(
      withProbe({ ...probe, image: good.image }),
      false,
      'a workload digest as an ephemeral container',
    );
    assert.equal(
      allows(pod({ containers: [{ image: probe.image }] }), params),
      false,
      'the probe as a workload',
    );
    assert.equal(withProbe({ ...probe, name: 'debugger' }), false);
    assert.equal(withProbe({ ...probe, command: ['/usr/bin/node', '-e', 'evil()'] }), false);
    assert.equal(withProbe({ ...probe, volumeMounts: [{ name: 'writable-0', mountPath: '/w' }] }), false);
    assert.equal(
      withProbe({ ...probe, env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }),
      false,
    );
    assert.equal(withProbe({ ...probe, envFrom: [{ secretRef: { name: 's' } }] }), false);
  });

  it('says which images it refused', () => {
    const [first] = admissionValidations;
    const object = pod({ containers: [{ image: `${repository}:latest` }] });

    const message = evaluate(first.messageExpression, { object, params: admitted });

    assert.match(
      String(message),
      /pod p runs an image herd did not admit: registry\.example:5000\/team\/hello:latest/,
    );
  });

  it('denies every pod when the ConfigMap has no data', () => {
    assert.equal(allows(pod({ containers: [{ image: `${repository}@${digest}` }] }), {}), false);
  });
});
