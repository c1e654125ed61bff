"""A private GPU real-time endpoint: autoscaling, data capture, alarms, optional monitoring."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sm
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_constructs.alarms import announced_alarm
from genai_constructs.compliance import (
    acknowledge,
    acknowledge_scoped_policy,
    in_every_framework,
)
from genai_constructs.fine_tuning.jobs import volume_key
from genai_constructs.grants import grant
from genai_constructs.principals import own_account_service
from genai_constructs.sagemaker_access import grant_sagemaker_runtime
from genai_constructs.sagemaker_sdk import image_uri

VARIANT = "AllTraffic"
MONITOR_INSTANCE = "ml.m5.xlarge"


# Where the data-quality reports go, under the endpoint's capture prefix.
MONITORING_REPORTS = "monitoring"


def monitor_image_uri(region: str) -> str:
    return image_uri("model-monitor", region)


class GpuEndpoint(Construct):
    """A SageMaker real-time endpoint for an LLM container, in the VPC, network-isolated.

    With ``min_instances`` 0 the model runs as an inference component on an endpoint with
    managed instance scaling, so idle capacity can go to zero; otherwise a classic variant
    scales between min and max on invocations per instance. Requests and responses are
    captured to ``capture_bucket`` with the key; 5xx errors and latency raise alarms.

    :param image_uri: serving image resolved with the SageMaker SDK.
    :param model_data_url: ``s3://`` prefix holding the model files (uncompressed).
    :param instance_type: GPU instance type.
    :param min_instances: 0 or more. :param max_instances: at least min and 1.
    :param invocations_per_instance: default 20; the scaling target.
    :param latency_alarm_ms: default 10000; p90 model latency that raises the alarm.
    :param monitor: default ``False``; add an hourly data-quality monitoring schedule.
    :param monitor_baseline_prefix: default none; where in ``model_bucket`` the monitor finds
        ``statistics.json`` and ``constraints.json`` of its baseline (a fine-tuned model's
        release carries the baseline its pipeline computed).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image_uri: str,
        model_data_url: str,
        instance_type: str,
        min_instances: int,
        max_instances: int,
        vpc_subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        model_bucket: s3.IBucket,
        model_prefix: str,
        capture_bucket: s3.IBucket,
        capture_prefix: str,
        alarm_topic: sns.ITopic,
        invocations_per_instance: int = 20,
        latency_alarm_ms: int = 10000,
        monitor: bool = False,
        monitor_baseline_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        counts = (min_instances, max_instances)
        if not any(Token.is_unresolved(c) for c in counts) and (
            min_instances < 0 or max_instances < max(1, min_instances)
        ):
            raise ValueError(
                f"GpuEndpoint: need 0 <= min_instances <= max_instances and max_instances >= 1 "
                f"(got {min_instances}..{max_instances})"
            )
        if not Token.is_unresolved(instance_type) and not instance_type.startswith("ml."):
            raise ValueError(f"GpuEndpoint: '{instance_type}' is not a SageMaker instance type")
        stack = Stack.of(self)
        self._subnets = [subnet.subnet_id for subnet in vpc_subnets]
        self._security_group = security_group
        self.scales_to_zero = min_instances == 0

        # Identity: reads the model's files, writes its captures.
        self.role = iam.Role(
            self,
            "ExecutionRole",
            description="Serves the endpoint's model: reads its files, writes its captures",
            assumed_by=own_account_service(self, "sagemaker.amazonaws.com"),
        )
        self.monitor_role: iam.Role | None = None
        self.data_quality: sm.CfnDataQualityJobDefinition | None = None
        model_bucket.grant_read(self.role, f"{model_prefix}*")
        capture_bucket.grant_put(self.role, f"{capture_prefix}*")
        encryption_key.grant_encrypt_decrypt(self.role)
        grant_sagemaker_runtime(self.role, stack, [image_uri])

        # Serving: the model, its endpoint, and how they scale.
        self.model = self._model(image_uri, model_data_url)
        self.endpoint_config = self._endpoint_config(
            instance_type,
            min_instances,
            max_instances,
            encryption_key,
            capture_bucket,
            capture_prefix,
        )
        self.endpoint = sm.CfnEndpoint(
            self, "Endpoint", endpoint_config_name=self.endpoint_config.attr_endpoint_config_name
        )
        self.endpoint_name: str = self.endpoint.attr_endpoint_name
        self.inference_component: sm.CfnInferenceComponent | None = None
        self._autoscaling(stack, min_instances, max_instances, invocations_per_instance)

        # Operations: alarms and, in production, data-quality monitoring.
        self._alarms(alarm_topic, latency_alarm_ms)
        if monitor:
            self._monitoring(
                stack, capture_bucket, capture_prefix, encryption_key, self._subnets, security_group
            )
            if monitor_baseline_prefix is not None:
                self._baseline(model_bucket, monitor_baseline_prefix)
        acknowledge_scoped_policy(self.role, "the endpoint's model files and its captures")
        if self.monitor_role is not None:
            acknowledge_scoped_policy(
                self.monitor_role, "monitoring the endpoint: its captures and its reports"
            )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call the endpoint (and its inference component, when it has one)."""
        stack = Stack.of(self)
        resources = [self.endpoint.ref]
        component = self.inference_component
        if component is not None:
            resources.append(
                f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
                f"inference-component/{component.inference_component_name}"
            )
        return grant(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
            resource_arns=resources,
        )

    def _network(self) -> sm.CfnModel.VpcConfigProperty:
        return sm.CfnModel.VpcConfigProperty(
            security_group_ids=[self._security_group.security_group_id], subnets=self._subnets
        )

    def _model(self, image_uri: str, model_data_url: str) -> sm.CfnModel:
        model = sm.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            enable_network_isolation=True,
            vpc_config=self._network(),
            primary_container=sm.CfnModel.ContainerDefinitionProperty(
                image=image_uri,
                model_data_source=sm.CfnModel.ModelDataSourceProperty(
                    s3_data_source=sm.CfnModel.S3DataSourceProperty(
                        s3_uri=model_data_url, s3_data_type="S3Prefix", compression_type="None"
                    )
                ),
                environment={
                    "HF_MODEL_ID": "/opt/ml/model",
                    "SM_NUM_GPUS": "1",
                    "MESSAGES_API_ENABLED": "true",
                },
            ),
        )
        model.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        return model

    def _endpoint_config(
        self,
        instance_type: str,
        min_instances: int,
        max_instances: int,
        encryption_key: kms.IKey,
        capture_bucket: s3.IBucket,
        capture_prefix: str,
    ) -> sm.CfnEndpointConfig:
        """A classic variant, or (scale to zero) a variant with managed instance scaling that
        hosts the model as an inference component."""
        capture = sm.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=100,
            destination_s3_uri=capture_bucket.s3_url_for_object(capture_prefix),
            kms_key_id=encryption_key.key_arn,
            capture_options=[
                sm.CfnEndpointConfig.CaptureOptionProperty(capture_mode=mode)
                for mode in ("Input", "Output")
            ],
        )
        to_zero = self.scales_to_zero
        variant = sm.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT,
            instance_type=instance_type,
            initial_instance_count=1 if to_zero else min_instances,
            model_name=None if to_zero else self.model.attr_model_name,
            managed_instance_scaling=(
                sm.CfnEndpointConfig.ManagedInstanceScalingProperty(
                    status="ENABLED", min_instance_count=0, max_instance_count=max_instances
                )
                if to_zero
                else None
            ),
            routing_config=sm.CfnEndpointConfig.RoutingConfigProperty(
                routing_strategy="LEAST_OUTSTANDING_REQUESTS"
            ),
        )
        config = sm.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[variant],
            # Instances with local NVMe storage reject a storage-volume key (Nitro encrypts it).
            kms_key_id=volume_key(instance_type, encryption_key.key_arn),
            data_capture_config=capture,
            execution_role_arn=self.role.role_arn if to_zero else None,
            vpc_config=sm.CfnEndpointConfig.VpcConfigProperty(
                security_group_ids=[self._security_group.security_group_id],
                subnets=self._subnets,
            )
            if to_zero
            else None,
            enable_network_isolation=True if to_zero else None,
        )
        if volume_key(instance_type, "key") is None:
            acknowledge(
                config,
                in_every_framework("SageMakerEndpointConfigurationKMSKeyConfigured"),
                f"{instance_type} serves from local NVMe instance storage, which SageMaker "
                "encrypts with hardware keys and for which it rejects a KMS key; data capture "
                "is encrypted with the LOB key.",
            )
        return config

    def _autoscaling(
        self, stack: Stack, min_instances: int, max_instances: int, invocations_per_instance: int
    ) -> None:
        """Scale on invocations: copies of the inference component, or variant instances."""
        if self.scales_to_zero:
            target, metric = self._component_scaling(stack, max_instances)
        else:
            target = autoscaling.ScalableTarget(
                self,
                "Scaling",
                service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT}",
                min_capacity=min_instances,
                max_capacity=max_instances,
            )
            metric = autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE
        target.node.add_dependency(self.endpoint)
        target.scale_to_track_metric(
            "Invocations",
            target_value=invocations_per_instance,
            predefined_metric=metric,
            scale_in_cooldown=Duration.minutes(10),
            scale_out_cooldown=Duration.minutes(2),
        )

    def _component_scaling(
        self, stack: Stack, max_instances: int
    ) -> tuple[autoscaling.ScalableTarget, autoscaling.PredefinedMetric]:
        """The model as an inference component whose copies scale from zero."""
        # Named: autoscaling addresses the component by name.
        component_name = f"{stack.stack_name}-{self.node.id}"[:63]
        self.inference_component = component = sm.CfnInferenceComponent(
            self,
            "Component",
            inference_component_name=component_name,
            endpoint_name=self.endpoint_name,
            variant_name=VARIANT,
            specification=sm.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=self.model.attr_model_name,
                compute_resource_requirements=sm.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=1, min_memory_required_in_mb=4096
                ),
            ),
            runtime_config=sm.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=1
            ),
        )
        target = autoscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            scalable_dimension="sagemaker:inference-component:DesiredCopyCount",
            resource_id=f"inference-component/{component_name}",
            min_capacity=0,
            max_capacity=max_instances,
        )
        target.node.add_dependency(component)
        # Target tracking never scales out from zero copies: a request that finds no copy
        # raises NoCapacityInvocationFailures, which adds the first one.
        target.scale_on_metric(
            "ScaleFromZero",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="NoCapacityInvocationFailures",
                dimensions_map={"InferenceComponentName": component_name},
                statistic="Maximum",
                period=Duration.minutes(1),
            ),
            scaling_steps=[
                autoscaling.ScalingInterval(upper=1, change=0),
                autoscaling.ScalingInterval(lower=1, change=1),
            ],
            adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        )
        return (
            target,
            autoscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_INVOCATIONS_PER_COPY,
        )

    def _alarms(self, alarm_topic: sns.ITopic, latency_alarm_ms: int) -> None:
        """Errors and latency, announced on the topic; a release rolls back when one fires."""
        dimensions = {"EndpointName": self.endpoint_name, "VariantName": VARIANT}
        self.alarms: list[cloudwatch.Alarm] = []
        for alarm_id, metric_name, statistic, threshold, description in (
            ("Errors5xx", "Invocation5XXErrors", "Sum", 1, "Model errors (5xx)"),
            (
                "Latency",
                "ModelLatency",
                "p90",
                latency_alarm_ms * 1000,
                f"p90 model latency above {latency_alarm_ms} ms",
            ),
        ):
            alarm = announced_alarm(
                self,
                alarm_id,
                description=description,
                metric=cloudwatch.Metric(
                    namespace="AWS/SageMaker",
                    metric_name=metric_name,
                    dimensions_map=dimensions,
                    statistic=statistic,
                    period=Duration.minutes(5),
                ),
                topic=alarm_topic,
                threshold=threshold,
            )
            self.alarms.append(alarm)

    def _baseline(self, bucket: s3.IBucket, prefix: str) -> None:
        """The monitor compares the captures with the baseline its model was trained on."""
        assert self.monitor_role is not None and self.data_quality is not None
        bucket.grant_read(self.monitor_role, f"{prefix}*")
        baseline = sm.CfnDataQualityJobDefinition
        self.data_quality.data_quality_baseline_config = baseline.DataQualityBaselineConfigProperty(
            constraints_resource=baseline.ConstraintsResourceProperty(
                s3_uri=bucket.s3_url_for_object(f"{prefix}constraints.json")
            ),
            statistics_resource=baseline.StatisticsResourceProperty(
                s3_uri=bucket.s3_url_for_object(f"{prefix}statistics.json")
            ),
        )

    def _monitoring(
        self,
        stack: Stack,
        bucket: s3.IBucket,
        prefix: str,
        key: kms.IKey,
        subnets: list[str],
        security_group: ec2.ISecurityGroup,
    ) -> None:
        # Its own role: it reads the captures and writes reports beside them; the endpoint's
        # role only adds captures, and neither can delete them.
        self.monitor_role = iam.Role(
            self,
            "MonitorRole",
            description="Data-quality monitoring: reads the captures, writes its reports",
            assumed_by=own_account_service(self, "sagemaker.amazonaws.com"),
        )
        bucket.grant_read(self.monitor_role, f"{prefix}*")
        bucket.grant_put(self.monitor_role, f"{prefix}{MONITORING_REPORTS}/*")
        key.grant_encrypt_decrypt(self.monitor_role)
        grant_sagemaker_runtime(self.monitor_role, stack, [monitor_image_uri(stack.region)])
        name = f"{stack.stack_name}-{self.node.id}"[:56]
        self.data_quality = definition = sm.CfnDataQualityJobDefinition(
            self,
            "DataQuality",
            job_definition_name=f"{name}-dq",
            role_arn=self.monitor_role.role_arn,
            data_quality_app_specification=sm.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=monitor_image_uri(stack.region)
            ),
            data_quality_job_input=sm.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sm.CfnDataQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=self.endpoint_name, local_path="/opt/ml/processing/input"
                )
            ),
            data_quality_job_output_config=sm.CfnDataQualityJobDefinition.MonitoringOutputConfigProperty(
                kms_key_id=key.key_arn,
                monitoring_outputs=[
                    sm.CfnDataQualityJobDefinition.MonitoringOutputProperty(
                        s3_output=sm.CfnDataQualityJobDefinition.S3OutputProperty(
                            local_path="/opt/ml/processing/output",
                            s3_uri=bucket.s3_url_for_object(f"{prefix}{MONITORING_REPORTS}"),
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=sm.CfnDataQualityJobDefinition.MonitoringResourcesProperty(
                cluster_config=sm.CfnDataQualityJobDefinition.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=MONITOR_INSTANCE,
                    volume_size_in_gb=20,
                    volume_kms_key_id=key.key_arn,
                )
            ),
            network_config=sm.CfnDataQualityJobDefinition.NetworkConfigProperty(
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
                vpc_config=sm.CfnDataQualityJobDefinition.VpcConfigProperty(
                    security_group_ids=[security_group.security_group_id], subnets=subnets
                ),
            ),
            stopping_condition=sm.CfnDataQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=3300
            ),
        )
        schedule = sm.CfnMonitoringSchedule(
            self,
            "Monitoring",
            monitoring_schedule_name=f"{name}-schedule",
            monitoring_schedule_config=sm.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=f"{name}-dq",
                monitoring_type="DataQuality",
                schedule_config=sm.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression="cron(0 * ? * * *)"
                ),
            ),
        )
        schedule.node.add_dependency(definition)
