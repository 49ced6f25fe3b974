package k8stest

// The subset of the Kubernetes, prometheus-operator and KEDA schemas the kustomize manifests
// (deploy/k8s) and the Helm chart (deploy/helm) render. Decoding is strict (DecodeAll): a field
// these types do not know (a typo, a misplaced key in a manifest or a template) fails the test.
// Replicas is a pointer: the chart leaves it out when KEDA owns the replica count.

type ObjectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Header is what every object has: its kind and metadata.
type Header struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   ObjectMeta `yaml:"metadata"`
}

type Namespace struct {
	Header `yaml:",inline"`
}

type ServiceAccount struct {
	Header                       `yaml:",inline"`
	AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
}

type ConfigMap struct {
	Header `yaml:",inline"`
	Data   map[string]string `yaml:"data"`
}

type Secret struct {
	Header `yaml:",inline"`
	Type   string            `yaml:"type"`
	Data   map[string]string `yaml:"data"`
}

type LabelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type Service struct {
	Header `yaml:",inline"`
	Spec   struct {
		Type     string            `yaml:"type"`
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
			Protocol   string `yaml:"protocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type PodDisruptionBudget struct {
	Header `yaml:",inline"`
	Spec   struct {
		MaxUnavailable any           `yaml:"maxUnavailable"`
		MinAvailable   any           `yaml:"minAvailable"`
		Selector       LabelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type Probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type EnvVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		ResourceFieldRef *struct {
			Resource string `yaml:"resource"`
		} `yaml:"resourceFieldRef"`
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type ContainerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
	Protocol      string `yaml:"protocol"`
}

type ContainerSecurityContext struct {
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
		Add  []string `yaml:"add"`
	} `yaml:"capabilities"`
}

type Container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Args            []string `yaml:"args"`
	EnvFrom         []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	Env            []EnvVar        `yaml:"env"`
	Ports          []ContainerPort `yaml:"ports"`
	LivenessProbe  *Probe          `yaml:"livenessProbe"`
	ReadinessProbe *Probe          `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *ContainerSecurityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type PodSecurityContext struct {
	RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
	RunAsUser      int   `yaml:"runAsUser"`
	RunAsGroup     int   `yaml:"runAsGroup"`
	FSGroup        int   `yaml:"fsGroup"`
	SeccompProfile struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type Volume struct {
	Name   string `yaml:"name"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode int    `yaml:"defaultMode"`
		Items       []struct {
			Key  string `yaml:"key"`
			Path string `yaml:"path"`
		} `yaml:"items"`
	} `yaml:"secret"`
	EmptyDir *struct {
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
}

type Deployment struct {
	Header `yaml:",inline"`
	Spec   struct {
		Replicas             *int          `yaml:"replicas"`
		RevisionHistoryLimit int           `yaml:"revisionHistoryLimit"`
		Selector             LabelSelector `yaml:"selector"`
		Strategy             struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
				MaxSurge       any `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata ObjectMeta `yaml:"metadata"`
			Spec     struct {
				ServiceAccountName            string `yaml:"serviceAccountName"`
				AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
				TerminationGracePeriodSeconds int    `yaml:"terminationGracePeriodSeconds"`
				ImagePullSecrets              []struct {
					Name string `yaml:"name"`
				} `yaml:"imagePullSecrets"`
				SecurityContext           PodSecurityContext `yaml:"securityContext"`
				TopologySpreadConstraints []struct {
					MaxSkew           int           `yaml:"maxSkew"`
					TopologyKey       string        `yaml:"topologyKey"`
					WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
					LabelSelector     LabelSelector `yaml:"labelSelector"`
				} `yaml:"topologySpreadConstraints"`
				NodeSelector map[string]string `yaml:"nodeSelector"`
				Tolerations  []struct {
					Key      string `yaml:"key"`
					Operator string `yaml:"operator"`
					Value    string `yaml:"value"`
					Effect   string `yaml:"effect"`
				} `yaml:"tolerations"`
				Affinity   map[string]any `yaml:"affinity"`
				Containers []Container    `yaml:"containers"`
				Volumes    []Volume       `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type ServiceMonitor struct {
	Header `yaml:",inline"`
	Spec   struct {
		JobLabel  string        `yaml:"jobLabel"`
		Selector  LabelSelector `yaml:"selector"`
		Endpoints []struct {
			Port     string `yaml:"port"`
			Path     string `yaml:"path"`
			Interval string `yaml:"interval"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

// RuleGroups is both a Prometheus rule file and the spec of a PrometheusRule.
type RuleGroups struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert         string            `yaml:"alert"`
			Record        string            `yaml:"record"`
			Expr          string            `yaml:"expr"`
			For           string            `yaml:"for"`
			KeepFiringFor string            `yaml:"keep_firing_for"`
			Labels        map[string]string `yaml:"labels"`
			Annotations   map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type PrometheusRule struct {
	Header `yaml:",inline"`
	Spec   RuleGroups `yaml:"spec"`
}

type ScaledObject struct {
	Header `yaml:",inline"`
	Spec   struct {
		ScaleTargetRef struct {
			Name       string `yaml:"name"`
			Kind       string `yaml:"kind"`
			APIVersion string `yaml:"apiVersion"`
		} `yaml:"scaleTargetRef"`
		MinReplicaCount *int `yaml:"minReplicaCount"`
		MaxReplicaCount *int `yaml:"maxReplicaCount"`
		PollingInterval int  `yaml:"pollingInterval"`
		CooldownPeriod  int  `yaml:"cooldownPeriod"`
		Fallback        *struct {
			FailureThreshold int `yaml:"failureThreshold"`
			Replicas         int `yaml:"replicas"`
		} `yaml:"fallback"`
		Advanced struct {
			HorizontalPodAutoscalerConfig struct {
				Behavior struct {
					ScaleDown struct {
						StabilizationWindowSeconds int `yaml:"stabilizationWindowSeconds"`
						Policies                   []struct {
							Type          string `yaml:"type"`
							Value         int    `yaml:"value"`
							PeriodSeconds int    `yaml:"periodSeconds"`
						} `yaml:"policies"`
					} `yaml:"scaleDown"`
				} `yaml:"behavior"`
			} `yaml:"horizontalPodAutoscalerConfig"`
		} `yaml:"advanced"`
		Triggers []struct {
			Type     string            `yaml:"type"`
			Metadata map[string]string `yaml:"metadata"`
		} `yaml:"triggers"`
	} `yaml:"spec"`
}
