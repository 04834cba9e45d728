// Package deploy_test checks the deployment files users copy: every YAML
// and JSON file parses, and the compose file and Kubernetes manifests hang
// together (services, ports, probes, partitions, mounted paths).
package deploy_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// docs parses every YAML document of a file.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err, "%s: YAML document %d", path, len(out)+1)
		if d != nil {
			out = append(out, d)
		}
	}
}

func TestEveryFileParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		switch {
		case d.IsDir():
			return nil
		case strings.HasSuffix(p, ".yaml"), strings.HasSuffix(p, ".yml"):
			assert.NotEmpty(t, docs(t, p), p)
			n++
		case strings.HasSuffix(p, ".json"):
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.True(t, json.Valid(b), "%s is valid JSON", p)
			n++
		}
		return nil
	})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 12)
}

func m(v any) map[string]any {
	out, _ := v.(map[string]any)
	return out
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestCompose(t *testing.T) {
	d := docs(t, "compose/docker-compose.yml")
	require.Len(t, d, 1)
	services := m(d[0]["services"])
	for _, s := range []string{"kafka", "clickhouse", "migrate", "ingest", "sink", "watch", "settle", "alertmanager", "grafana"} {
		require.Contains(t, services, s)
	}
	for name, v := range services {
		svc := m(v)
		img, _ := svc["image"].(string)
		assert.NotEmpty(t, img, "%s has an image", name)
		assert.NotContains(t, img, ":latest", "%s pins its image", name)
		ports, _ := svc["ports"].([]any)
		for _, p := range ports {
			assert.True(t, strings.HasPrefix(p.(string), "127.0.0.1:"), "%s publishes %s on loopback only", name, p)
		}
		vols, _ := svc["volumes"].([]any)
		for _, vol := range vols {
			src, _, _ := strings.Cut(vol.(string), ":")
			if strings.HasPrefix(src, ".") {
				_, err := os.Stat(filepath.Join("compose", src))
				assert.NoError(t, err, "%s mounts %s", name, src)
			}
		}
	}
	// The pipeline containers reach Kafka on its internal listener.
	kafkaEnv := m(m(services["kafka"])["environment"])
	assert.Contains(t, kafkaEnv["KAFKA_ADVERTISED_LISTENERS"], "INTERNAL://kafka:29092")
	assert.Equal(t, "kafka:29092", m(m(services["ingest"])["environment"])["STEADYSTATE_KAFKA_BROKERS"])
	assert.Equal(t, "clickhouse:9000", m(m(services["sink"])["environment"])["STEADYSTATE_CLICKHOUSE_ADDR"])
	assert.Contains(t, strs(m(services["ingest"])["command"]), "0.0.0.0:4317")
	assert.Equal(t, "service_completed_successfully", m(m(m(services["sink"])["depends_on"])["migrate"])["condition"])
	assert.Contains(t, m(m(services["grafana"])["environment"])["GF_INSTALL_PLUGINS"], "grafana-clickhouse-datasource")

	am := docs(t, "compose/alertmanager/alertmanager.yml")[0]
	var urls []string
	for _, r := range am["receivers"].([]any) {
		for _, w := range m(r)["webhook_configs"].([]any) {
			urls = append(urls, m(w)["url"].(string))
		}
	}
	assert.Contains(t, urls, "http://ingest:4318/v1/alerts/alertmanager", "notifications reach ingest")

	ds := m(docs(t, "compose/grafana/provisioning/datasources/clickhouse.yaml")[0]["datasources"].([]any)[0])
	assert.Equal(t, "grafana-clickhouse-datasource", ds["type"])
	var dash struct {
		Panels []struct {
			Datasource struct{ UID string } `json:"datasource"`
		} `json:"panels"`
	}
	b, err := os.ReadFile("compose/grafana/dashboards/game-day.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &dash))
	require.NotEmpty(t, dash.Panels)
	for _, p := range dash.Panels {
		assert.Equal(t, ds["uid"], p.Datasource.UID, "panels use the provisioned data source")
	}
}

// k8s returns every object of the manifests by kind/name.
func k8s(t *testing.T) map[string]map[string]any {
	t.Helper()
	kust := docs(t, "k8s/kustomization.yaml")[0]
	out := map[string]map[string]any{}
	for _, f := range strs(kust["resources"]) {
		for _, d := range docs(t, filepath.Join("k8s", f)) {
			require.NotEmpty(t, d["apiVersion"], f)
			require.NotEmpty(t, d["kind"], f)
			name := m(d["metadata"])["name"].(string)
			require.NotEmpty(t, name, f)
			out[d["kind"].(string)+"/"+name] = d
		}
	}
	return out
}

func container(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	cs := m(m(m(obj["spec"])["template"])["spec"])["containers"].([]any)
	require.Len(t, cs, 1)
	return m(cs[0])
}

func TestKubernetes(t *testing.T) {
	objs := k8s(t)
	for _, k := range []string{"Namespace/steadystate", "ConfigMap/steadystate", "Secret/steadystate", "Job/migrate",
		"Deployment/ingest", "Service/ingest", "HorizontalPodAutoscaler/ingest", "Deployment/sink", "Deployment/watch", "Deployment/settle"} {
		require.Contains(t, objs, k)
	}
	ingest := container(t, objs["Deployment/ingest"])
	args := strs(ingest["args"])
	var partitions int
	for i, a := range args {
		if a == "--partitions" {
			var err error
			partitions, err = strconv.Atoi(args[i+1])
			require.NoError(t, err)
		}
	}
	require.Positive(t, partitions, "ingest creates the topic with an explicit partition count")
	sinkReplicas := m(objs["Deployment/sink"]["spec"])["replicas"].(int)
	assert.LessOrEqual(t, sinkReplicas, partitions, "sink replicas beyond the partition count would idle")
	assert.NotContains(t, objs, "HorizontalPodAutoscaler/sink", "the sink's group is scaled by hand")

	hpa := m(objs["HorizontalPodAutoscaler/ingest"]["spec"])
	assert.Equal(t, "ingest", m(hpa["scaleTargetRef"])["name"])
	assert.Less(t, hpa["minReplicas"].(int), hpa["maxReplicas"].(int))
	require.NotNil(t, m(ingest["resources"])["requests"], "CPU autoscaling needs requests")

	svcPorts := map[string]bool{}
	for _, p := range m(objs["Service/ingest"]["spec"])["ports"].([]any) {
		svcPorts[m(p)["targetPort"].(string)] = true
	}
	for _, p := range ingest["ports"].([]any) {
		assert.True(t, svcPorts[m(p)["name"].(string)], "the Service exposes %v", m(p)["name"])
	}
	for _, d := range []string{"Deployment/ingest", "Deployment/sink"} {
		c := container(t, objs[d])
		assert.Equal(t, "/readyz", m(m(c["readinessProbe"])["httpGet"])["path"], d)
		assert.Equal(t, "/healthz", m(m(c["livenessProbe"])["httpGet"])["path"], d)
	}
	assert.Equal(t, 1, m(objs["Deployment/watch"]["spec"])["replicas"], "one watcher, or alerts double")
	assert.Equal(t, 1, m(objs["Deployment/settle"]["spec"])["replicas"], "one settler: a second repeats its work")
	settle := container(t, objs["Deployment/settle"])
	assert.Equal(t, []string{"settle"}, strs(settle["args"])[:1])
	assert.Equal(t, "/healthz", m(m(settle["livenessProbe"])["httpGet"])["path"], "Deployment/settle")

	cm := m(objs["ConfigMap/steadystate"]["data"])
	for _, k := range []string{"STEADYSTATE_KAFKA_BROKERS", "STEADYSTATE_CLICKHOUSE_ADDR", "STEADYSTATE_CLICKHOUSE_DATABASE"} {
		assert.NotEmpty(t, cm[k], k)
	}
}

// The experiment definitions kustomize packs are the shipped examples.
func TestKubernetesExperimentsMatchExamples(t *testing.T) {
	kust := docs(t, "k8s/kustomization.yaml")[0]
	files := m(kust["configMapGenerator"].([]any)[0])["files"].([]any)
	require.NotEmpty(t, files)
	re := regexp.MustCompile(`^([\w.-]+)=experiments/([\w.-]+)$`)
	for _, f := range files {
		g := re.FindStringSubmatch(f.(string))
		require.NotNil(t, g, f)
		got, err := os.ReadFile(filepath.Join("k8s", "experiments", g[2]))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join("..", "experiments", "examples", g[2]))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "deploy/k8s/experiments/%s is a copy of experiments/examples/%s", g[2], g[2])
	}
}

// clusterXML is the part of a ClickHouse server config the cluster needs.
type clusterXML struct {
	RemoteServers struct {
		Clusters []struct {
			XMLName xml.Name
			Shards  []struct {
				InternalReplication bool `xml:"internal_replication"`
				Replicas            []struct {
					Host string `xml:"host"`
					Port string `xml:"port"`
				} `xml:"replica"`
			} `xml:"shard"`
		} `xml:",any"`
	} `xml:"remote_servers"`
	Macros struct {
		Items []struct{ XMLName xml.Name } `xml:",any"`
	} `xml:"macros"`
	ZooKeeper struct {
		Nodes []struct {
			Host string `xml:"host"`
		} `xml:"node"`
	} `xml:"zookeeper"`
	DistributedDDL struct {
		Path string `xml:"path"`
	} `xml:"distributed_ddl"`
}

// TestClusterTopologyMatches checks that the ClickHouse cluster shipped
// for Kubernetes (deploy/k8s/clickhouse-cluster.xml and config.yaml) and
// the one `make up CLUSTER=1` runs and the cluster tests exercise
// (deploy/local/cluster/clickhouse.xml.tmpl) are the topology of
// deploy/cluster.env: cluster name, shards, replicas, macros, ZooKeeper
// and distributed DDL; and that the Kafka settings the README prescribes
// are the ones the local cluster runs with.
func TestClusterTopologyMatches(t *testing.T) {
	env := map[string]string{}
	b, err := os.ReadFile("cluster.env")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	shards, err := strconv.Atoi(env["CLICKHOUSE_SHARDS"])
	require.NoError(t, err)
	replicas, err := strconv.Atoi(env["CLICKHOUSE_REPLICAS"])
	require.NoError(t, err)
	macros := strings.Split(env["CLICKHOUSE_MACROS"], ",")

	for _, path := range []string{"k8s/clickhouse-cluster.xml", "local/cluster/clickhouse.xml.tmpl"} {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		// The local template's placeholders: the cluster name is filled in
		// from cluster.env by up.sh.
		text := strings.ReplaceAll(string(raw), "@CLUSTER@", env["CLUSTER_NAME"])
		text = regexp.MustCompile(`@[A-Z_0-9]+@`).ReplaceAllString(text, "0")
		var c clusterXML
		require.NoError(t, xml.Unmarshal([]byte(text), &c), path)
		require.Len(t, c.RemoteServers.Clusters, 1, path)
		cl := c.RemoteServers.Clusters[0]
		assert.Equal(t, env["CLUSTER_NAME"], cl.XMLName.Local, "%s: cluster name", path)
		assert.Len(t, cl.Shards, shards, "%s: shards", path)
		for i, s := range cl.Shards {
			assert.Len(t, s.Replicas, replicas, "%s: replicas of shard %d", path, i+1)
			assert.True(t, s.InternalReplication, "%s: shard %d must replicate internally (Replicated tables), or a Distributed insert writes every replica itself", path, i+1)
		}
		var got []string
		for _, m := range c.Macros.Items {
			got = append(got, m.XMLName.Local)
		}
		assert.ElementsMatch(t, macros, got, "%s: macros", path)
		assert.NotEmpty(t, c.ZooKeeper.Nodes, "%s: ZooKeeper", path)
		assert.NotEmpty(t, c.DistributedDDL.Path, "%s: distributed_ddl (ON CLUSTER)", path)
	}

	var cfg map[string]any
	for _, d := range docs(t, "k8s/config.yaml") {
		if d["kind"] == "ConfigMap" {
			cfg = d["data"].(map[string]any)
		}
	}
	assert.Equal(t, env["CLUSTER_NAME"], cfg["STEADYSTATE_CLICKHOUSE_CLUSTER"], "k8s/config.yaml: the cluster migrate and the sink use")
	assert.Len(t, strings.Split(cfg["STEADYSTATE_KAFKA_BROKERS"].(string), ","), mustAtoi(t, env["KAFKA_BROKER_COUNT"]), "k8s/config.yaml: brokers")

	readme, err := os.ReadFile("k8s/README.md")
	require.NoError(t, err)
	for _, want := range []string{
		"replication factor " + env["KAFKA_REPLICATION_FACTOR"],
		"`min.insync.replicas=" + env["KAFKA_MIN_INSYNC_REPLICAS"] + "`",
		fmt.Sprintf("`%s` of %d shards x %d replicas", env["CLUSTER_NAME"], shards, replicas),
	} {
		assert.Contains(t, strings.Join(strings.Fields(string(readme)), " "), want, "k8s/README.md")
	}
	up, err := os.ReadFile("local/cluster/up.sh")
	require.NoError(t, err)
	for _, want := range []string{"default.replication.factor=$KAFKA_REPLICATION_FACTOR", "min.insync.replicas=$KAFKA_MIN_INSYNC_REPLICAS", "migrate --cluster \"$CLUSTER_NAME\""} {
		assert.Contains(t, string(up), want, "local/cluster/up.sh takes its settings from cluster.env")
	}
	// The compose file is the single-node development stack (one broker,
	// one ClickHouse): it must not claim a cluster it does not run.
	compose, err := os.ReadFile("compose/docker-compose.yml")
	require.NoError(t, err)
	assert.NotContains(t, string(compose), "STEADYSTATE_CLICKHOUSE_CLUSTER", "compose runs one ClickHouse server")
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
