package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
)

func TestProbeTemplate(t *testing.T) {
	data, _ := os.ReadFile("../template.yaml")
	data = []byte(strings.Replace(string(data), "        EnableIamAuthorizer: true\n", "", 1))
	tpl, err := goformation.ParseYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := tpl.GetServerlessFunctionWithName("KillSwitchFunction")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(fn, "", " ")
	fmt.Println(string(b))
	for name, ev := range fn.Events {
		b, _ := json.Marshal(ev.Properties)
		fmt.Println(name, ev.Type, string(b), ev.Properties.S3Event != nil, ev.Properties.HttpApiEvent != nil)
	}
	api := tpl.GetAllServerlessHttpApiResources()
	b, _ = json.MarshalIndent(api, "", " ")
	fmt.Println(string(b))
	fmt.Println(len(tpl.Resources), tpl.Parameters["Environments"], tpl.Outputs["StoreLocation"])
	b, _ = json.MarshalIndent(tpl.Resources["SnapshotBucket"], "", " ")
	fmt.Println(string(b))
	for n, r := range tpl.Resources { fmt.Println(n, r.AWSCloudFormationType()) }
}
