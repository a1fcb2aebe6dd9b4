package kmssigner_test

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/signing/kmssigner"
	"github.com/edgeflag/edgeflag/store"
)

// The kill-switch Lambda signs every pointer it moves with the KMS key template.yaml
// creates (its ARN in EDGEFLAG_SIGNING_KEY_ID).
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := kmssigner.NewFromConfig(ctx, cfg, "alias/edgeflag-signing")
	if err != nil {
		log.Fatal(err)
	}
	st, err := store.Open(ctx, "s3://my-flags-bucket")
	if err != nil {
		log.Fatal(err)
	}
	pub := publish.New(st)
	pub.Signer = signer
	_ = pub // pub.Publish, Rollback, Kill... now sign the pointer they write
}
